"""Group commit (flowhooks/batching.py): batches form under concurrency, each caller gets
its own result only after its batch's write, and one bad item fails only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from flowhooks.batching import GroupCommit
from flowhooks.errors import StorageUnavailable


class Recorder:
    def __init__(self, bad: set[int] | None = None, down: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.committed: list[int] = []
        self.bad = bad or set()
        self.down = down
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()  # "the transaction": later arrivals gather meanwhile
        if self.down:
            raise StorageUnavailable("database unavailable: test")
        if self.bad & set(items):
            raise ValueError("a row the database refuses")
        self.committed += items
        return [i * 10 for i in items]


async def test_concurrent_items_share_a_write_and_get_their_own_results() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(100)))
    assert results == [i * 10 for i in range(100)]
    assert len(rec.batches) == 1 and sorted(rec.batches[0]) == list(range(100))


async def test_arrivals_during_a_write_form_the_next_batch() -> None:
    rec = Recorder()
    rec.gate.clear()
    group = GroupCommit(rec.write)
    first = asyncio.ensure_future(group.submit(1))
    while not rec.batches:
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(group.submit(i)) for i in range(2, 12)]
    await asyncio.sleep(0)
    assert not first.done()  # not answered before its write commits
    rec.gate.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [i * 10 for i in range(2, 12)]
    assert rec.batches == [[1], list(range(2, 12))]


async def test_a_batch_is_bounded() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write, max_batch=8)
    await asyncio.gather(*(group.submit(i) for i in range(20)))
    assert [len(b) for b in rec.batches] == [8, 8, 4]


async def test_one_bad_item_fails_alone_and_the_others_are_written() -> None:
    rec = Recorder(bad={3})
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(6)), return_exceptions=True)
    assert isinstance(results[3], ValueError)
    assert [r for i, r in enumerate(results) if i != 3] == [0, 10, 20, 40, 50]
    assert sorted(rec.committed) == [0, 1, 2, 4, 5]


async def test_a_database_down_fails_the_whole_batch_at_once() -> None:
    rec = Recorder(down=True)
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert len(rec.batches) == 1  # not retried item by item: nothing was stored


async def test_a_caller_that_goes_away_does_not_undo_its_write() -> None:
    rec = Recorder()
    rec.gate.clear()
    group = GroupCommit(rec.write)
    task = asyncio.ensure_future(group.submit(7))
    while not rec.batches:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rec.gate.set()
    while group._flusher is not None:
        await asyncio.sleep(0)
    assert rec.committed == [7]


async def test_items_that_waited_behind_a_batch_the_database_failed_share_its_answer() -> None:
    """A database that hangs fails a batch only at its deadline; the requests that
    queued meanwhile get the same answer at once instead of waiting a second deadline
    for a batch of their own (issue 22)."""
    rec = Recorder(down=True)
    rec.gate.clear()
    group = GroupCommit(rec.write)
    first = asyncio.ensure_future(group.submit(1))
    while not rec.batches:
        await asyncio.sleep(0)
    queued = [asyncio.ensure_future(group.submit(i)) for i in range(2, 6)]
    await asyncio.sleep(0)
    rec.gate.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert rec.batches == [[1]]  # the queued ones were never written


async def test_after_a_failed_batch_the_next_arrival_is_written() -> None:
    rec = Recorder(down=True)
    group = GroupCommit(rec.write)
    with pytest.raises(StorageUnavailable):
        await group.submit(1)
    rec.down = False
    assert await group.submit(2) == 20
