"""The traces writer: captured answers in, traces stored in batches, counts out.

``Writer`` is the batch loop: it takes what is queued at least every ``FLUSH_SECONDS``
(sooner when a batch is waiting), shapes the traces (``record.Shaper``) a chunk at a
time with a loop turn between, and stores them in few transactions
(``storage.trace_rows``; ``batching.GroupCommit`` is the model), reporting what it
wrote and dropped. A trace that cannot be shaped is dropped alone.

Run as ``python -m flowhooks.traces.writer`` it is the serving process's writer process
(``recorder.WriterProcess`` starts it): frames on stdin — first the start frame (JSON:
the ``Rules``, where to write, the log level), then batches of captures
(``record.capture``'s bytes, one after another, the frame saying how many) — and one
line ``"<written> <dropped>\\n"`` on stdout after each batch (its own prints go to
stderr). At the end of its stdin (the serving process stopped, or died) it writes
everything it holds and exits. It ignores SIGINT and SIGTERM: a Ctrl-C or a service
manager signals the whole process group, and the serving process's own stop ends its
stdin after its last traces.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import struct
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import uvloop

from flowhooks import logs
from flowhooks.errors import StorageUnavailable
from flowhooks.storage import trace_rows
from flowhooks.traces.record import Captured, Rules, Shaper, Trace, captures_of

log = logging.getLogger("flowhooks.traces")

FLUSH_SECONDS = 0.25  # the longest a trace waits for the writer
BATCH = 1000  # queued traces that wake the writer before its time (a store may say fewer)
CHUNK = 200  # traces shaped between two loop turns
NICENESS = 10  # on a busy host the CPU goes to answers first; traces use what is left

FRAME = struct.Struct("<II")  # a frame on the pipe: its length and count, then its bytes

Store = Callable[[Sequence[Trace]], Awaitable[None]]
Done = Callable[[int, int], None]  # (written, dropped)


class Writer:
    """Shapes and stores what ``put`` hands it; ``run`` until ``close`` and drained."""

    def __init__(self, shaper: Shaper, store: Store, done: Done, batch: int = BATCH) -> None:
        self._shaper = shaper
        self._store = store
        self._done = done
        self._batch = batch
        self._queue: list[Captured] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._failing = False

    def put(self, data: bytes, count: int) -> None:
        """Queue ``count`` captures (``record.capture``'s bytes one after another)."""
        try:
            items = captures_of(data)
        except ValueError:  # a bug: the other frames must not go with it
            log.exception("traces not read")
            self._done(0, count)
            return
        if len(items) != count:
            log.error(
                "traces frame miscounted", extra={"fields": {"said": count, "read": len(items)}}
            )
            self._done(0, count)
            return
        self._queue += items
        if len(self._queue) >= self._batch:
            self._wake.set()

    def close(self) -> None:
        """Write everything queued, then end ``run``."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()
            if self._closing and not self._queue:
                return

    async def flush(self) -> None:
        """Store what is queued now, in batches of at most ``batch``."""
        while self._queue:
            batch = self._queue[: self._batch]
            del self._queue[: self._batch]
            rows: list[Trace] = []
            for start in range(0, len(batch), CHUNK):
                if start:
                    await asyncio.sleep(0)  # shaping a chunk is ~1 ms: others go between
                rows += self._shape(batch[start : start + CHUNK])
            await self._write(rows)
            if len(rows) < len(batch):
                self._done(0, len(batch) - len(rows))

    def _shape(self, chunk: list[Captured]) -> list[Trace]:
        try:
            return [self._shaper.trace(c) for c in chunk]
        except Exception:  # a bug must not take the other traces with it
            log.exception("traces not shaped")
            rows = []
            for c in chunk:
                try:
                    rows.append(self._shaper.trace(c))
                except Exception:  # only after a chunk failed
                    continue
            return rows

    async def _write(self, rows: list[Trace]) -> None:
        if not rows:
            return
        try:
            await self._store(rows)
        except StorageUnavailable as exc:
            self._done(0, len(rows))
            if not self._failing:
                log.warning(
                    "traces dropped: the database is unavailable",
                    extra={"fields": {"error": exc.message, "dropped": len(rows)}},
                )
            self._failing = True
            return
        except Exception:
            self._done(0, len(rows))
            log.exception("traces not written")
            return
        if self._failing:
            log.info("traces written again")
        self._failing = False
        self._done(len(rows), 0)


# -- the writer process -------------------------------------------------------------


def start_frame(rules: Rules, target: dict[str, Any], log_level: str) -> bytes:
    """The first frame the writer process reads: what it needs to know (no secrets but
    the database's own URL)."""
    doc = {"rules": rules.to_json(), "target": target, "log_level": log_level}
    payload = orjson.dumps(doc)
    return FRAME.pack(len(payload), 0) + payload


def rows_writer(target: dict[str, Any]) -> trace_rows.SqliteRows | trace_rows.PostgresRows:
    if "sqlite" in target:
        return trace_rows.SqliteRows(target["sqlite"], target["synchronous"])
    return trace_rows.PostgresRows(target["postgresql"], target["statement_cache"])


async def _frames(reader: asyncio.StreamReader) -> Any:
    """(payload, count) of each frame."""
    while True:
        try:
            size, count = FRAME.unpack(await reader.readexactly(FRAME.size))
            payload = await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return
        yield payload, count


def _reporter(fd: int) -> Done:
    def report(written: int, dropped: int) -> None:
        os.write(fd, b"%d %d\n" % (written, dropped))

    return report


async def serve_pipe(reports: int) -> None:
    """The writer process: frames from stdin until it ends, then drained; reports on the
    file descriptor ``reports``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(sys.stdin.fileno(), "rb", 0)
    )
    frames = _frames(reader)
    first = await anext(frames, None)
    if first is None:
        return  # the serving process stopped before it sent anything
    doc = orjson.loads(first[0])
    logs.configure(doc["log_level"])
    sink = rows_writer(doc["target"])
    rules = Rules.from_json(doc["rules"])
    writer = Writer(Shaper(rules), sink.insert, _reporter(reports), sink.batch)
    running = asyncio.create_task(writer.run())
    try:
        async for payload, count in frames:
            writer.put(payload, count)
    finally:
        writer.close()
        await running
        await sink.close()


def main() -> None:
    os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reports = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print() is no report
    uvloop.run(serve_pipe(reports))


if __name__ == "__main__":
    main()
