"""The console's numbers loop: every ``[console] stats_seconds`` a serve process adds the
envelope answers it counted since its last write to the hour's rows, and samples the
outbox (storage/stats.py). It reads the counters /metrics already keeps, so requests
pay nothing for it; what a failed write held is added to the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

from flowhooks.clock import Clock
from flowhooks.metrics import RequestStats
from flowhooks.storage import Storage
from flowhooks.storage import stats as store

log = logging.getLogger("flowhooks.stats")
Counts = dict[tuple[str, int, str], int]
Latency = dict[tuple[str, int], int]
K = TypeVar("K")
WRITE_SECONDS = 10.0


def snapshot(stats: RequestStats) -> tuple[Counts, Latency]:
    """The process's totals so far, keyed as the database keeps them."""
    counts = {(m, int(h), s): n for (m, h, s), n in list(stats.counts.items())}
    latency = {
        (m, i): int(hits)
        for m, row in list(stats.latency.items())
        for i, hits in enumerate(row[:-1])  # the last slot is the sum of seconds
    }
    return counts, latency


def since(now: Mapping[K, int], before: Mapping[K, int]) -> dict[K, int]:
    """What was counted between two snapshots."""
    return {k: n - before.get(k, 0) for k, n in now.items() if n != before.get(k, 0)}


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (an hour of a +05:30 zone is not one of UTC's)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class StatsWriter:
    def __init__(self, storage: Storage, stats: RequestStats, clock: Clock) -> None:
        self.storage = storage
        self.stats = stats
        self.clock = clock
        self._written: tuple[Counts, Latency] = ({}, {})

    async def write(self) -> None:
        """Add what was counted since the last write; sample the outbox."""
        counts, latency = snapshot(self.stats)
        now = self.clock.now()
        await store.add_requests(
            self.storage,
            hour_of(now),
            since(counts, self._written[0]),
            since(latency, self._written[1]),
        )
        self._written = (counts, latency)
        await store.sample_outbox(
            self.storage, now.astimezone(UTC).replace(second=0, microsecond=0)
        )

    async def run(self, every: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            try:
                async with asyncio.timeout(WRITE_SECONDS):  # a hanging database never holds a stop
                    await self.write()
            except Exception as exc:  # the database is down: the next write carries it
                log.warning("console numbers not written yet: %s", type(exc).__name__)


@asynccontextmanager
async def stats_runtime(
    storage: Storage, stats: RequestStats, clock: Clock, every: float
) -> AsyncIterator[StatsWriter]:
    """The loop for the life of the block; its last write at the end."""
    writer = StatsWriter(storage, stats, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(every, stop), name="console-stats")
    try:
        yield writer
    finally:
        stop.set()
        await task
