"""Group commit: concurrent callers' writes share one transaction.

Performance: a transaction's fixed cost (BEGIN, COMMIT, and on a durable PostgreSQL the
WAL flush) is most of a small write's cost, so requests that arrive while one batch
commits are written together by the next. Nothing waits for a timer: a lone request
is written at once (after one loop turn), and under load the batch is whatever
gathered during the previous commit. Each caller gets its own result, or its own
error, only after the transaction that holds its write has committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from flowhooks.errors import HandlerFailed, StorageUnavailable

log = logging.getLogger("flowhooks.batching")

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 256  # requests per transaction (each may carry up to 1,000 calls)


class GroupCommit(Generic[T, R]):
    """``await submit(item)`` returns ``write([... item ...])``'s result for that item.

    ``write`` stores a batch in one transaction and returns one result per item, in
    order. When it raises a ``HandlerFailed`` (the database is down), every item of the
    batch gets that error: nothing of the batch was stored. ``StorageUnavailable`` also
    answers the items that queued meanwhile (a database that hangs fails a batch at its
    deadline: they would wait a second one). Any other error means one item may be at
    fault, so each item of the batch is written again on its own and only the one that
    fails gets its error.
    """

    def __init__(
        self, write: Callable[[Sequence[T]], Awaitable[list[R]]], max_batch: int = MAX_BATCH
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # the write goes on if this caller is cancelled: it is committed, or fails, whole
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            await asyncio.sleep(0)  # requests parsed in this same loop turn join the batch
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit(batch)
                batch = []
        finally:
            self._flusher = None
            for _, future in batch + self._pending:  # stopped mid-way (shutdown)
                _settle(future, error=HandlerFailed("SHUTTING_DOWN", "the service is stopping"))
            self._pending = []

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except HandlerFailed as exc:
            if isinstance(exc, StorageUnavailable):
                batch, self._pending = batch + self._pending, []
            for _, future in batch:
                _settle(future, error=exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("a batched write failed; writing its items one by one")
            for one in batch:
                await self._commit([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[R], result: R | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
        future.exception()  # retrieved: a caller that went away leaves no warning behind
    else:
        future.set_result(result)  # type: ignore[arg-type]
