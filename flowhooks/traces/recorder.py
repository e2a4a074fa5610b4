"""The recorder: a bounded in-memory queue the envelope route hands answers to, and the
batch writer that turns them into traces and stores them.

The answer never waits for its trace. ``add`` (the hot path) appends a reference to the
queue, or counts a drop when the queue is full; the writer takes whatever is queued at
least every ``FLUSH_SECONDS`` (sooner when a batch is waiting), builds the traces a
chunk at a time with a loop turn between, and stores each batch in one transaction
(``batching.GroupCommit`` is the model: one transaction's cost shared by many). At stop
the queue is flushed whole.
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from flowhooks.clients import Clients
from flowhooks.clock import Clock
from flowhooks.errors import StorageUnavailable
from flowhooks.phones import NumberRefused
from flowhooks.settings import BotSettings, TracesSettings
from flowhooks.storage import Storage
from flowhooks.storage import traces as store
from flowhooks.traces.record import Answered, Captured, Shaper, capture

log = logging.getLogger("flowhooks.traces")

FLUSH_SECONDS = 0.25  # the longest a trace waits for the writer
BATCH = 1000  # queued traces that wake the writer before its time
CHUNK = 200  # traces built between two loop turns
NOT_TRACED = frozenset({"UNAUTHORIZED", "FORBIDDEN"})  # no client of ours vouched for these


def _owner(clients: Clients, bots: Mapping[str, BotSettings]) -> Any:
    def owner(keys: Mapping[str, str]) -> str:
        """clientID (a flow token's client is put there by the engine); else the client
        of a custToken (shortURL) or of a bot (linkcreation); else ``default``."""
        named = keys.get("clientid", "").strip()
        if named:
            return named
        token = keys.get("custtoken")
        if token:
            return clients.for_cust_token(token.strip()) or "default"
        bot = bots.get(keys.get("botid", "").strip())
        return bot.client if bot is not None else "default"

    return owner


def _number(clients: Clients) -> Any:
    def number(client: str, text: str) -> str | None:
        try:
            return clients.number(client if client in clients else "default", text)
        except (NumberRefused, KeyError):
            return None

    return number


def shaper_for(conf: TracesSettings, clients: Clients, bots: Mapping[str, BotSettings]) -> Shaper:
    return Shaper(
        conf.max_value_chars,
        tuple(dict.fromkeys(k.strip().lower() for k in conf.call_keys)),
        _owner(clients, bots),
        _number(clients),
    )


class Recorder:
    """One app's traces: ``add`` from the envelope route, ``start``/``close`` around its
    life; ``written`` and ``dropped`` count for /metrics."""

    def __init__(
        self, conf: TracesSettings, clients: Clients, bots: Mapping[str, BotSettings]
    ) -> None:
        self.enabled = conf.enabled and conf.sample_rate > 0
        self.written = 0
        self.dropped = 0
        self._rate = conf.sample_rate
        self._max = conf.queue_size
        self._shaper = shaper_for(conf, clients, bots)
        self._queue: list[Captured] = []
        self._wake = asyncio.Event()
        self._storage: Storage | None = None
        self._clock: Clock | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failing = False
        self._full = False  # dropping since the queue filled (logged on each change)

    # -- the hot path ---------------------------------------------------------------

    def add(
        self,
        outcome: Answered,
        request_id: str,
        latency: float,
        wire: bytes,
        body: bytes | None = None,
    ) -> None:
        """Queue one answered envelope (``wire``: the answer's bytes as sent; ``body``:
        the request's, when it was read)."""
        if outcome.error_code in NOT_TRACED:
            return
        if self._rate < 1.0 and not self._sampled(outcome):
            return
        queue = self._queue
        if len(queue) >= self._max or self._closing:
            self.dropped += 1
            if not self._full and not self._closing:
                self._full = True
                log.warning(
                    "traces dropped: the queue is full (the database is slow or down)",
                    extra={"fields": {"queueSize": self._max}},
                )
            return
        queue.append(capture(outcome, request_id, latency, wire, body))
        if len(queue) == BATCH:
            self._wake.set()

    def _sampled(self, outcome: Answered) -> bool:
        """A call's envelopes are kept or left together (by its call key); others alone."""
        env = outcome.env
        key = self._shaper.call_key(env.keys) if env is not None else ""
        if key:
            return zlib.crc32(key.encode()) / 0x1_0000_0000 < self._rate
        return random.random() < self._rate

    # -- the writer -----------------------------------------------------------------

    def start(self, storage: Storage, clock: Clock) -> None:
        self._storage, self._clock = storage, clock
        self._task = asyncio.create_task(self._run(), name="traces")

    async def close(self) -> None:
        """Write everything queued, then stop taking traces."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("traces not written")
            if self._closing and not self._queue:
                return

    async def flush(self) -> None:
        """Store what is queued now, in batches of at most ``BATCH``."""
        assert self._storage is not None and self._clock is not None
        while self._queue:
            batch = self._queue[:BATCH]
            del self._queue[:BATCH]
            now = self._clock.now()
            rows = []
            for start in range(0, len(batch), CHUNK):
                if start:
                    await asyncio.sleep(0)  # building a chunk is ~1 ms: requests go between
                rows += [self._shaper.trace(c, now) for c in batch[start : start + CHUNK]]
            await self._store(rows)
        if self._full:
            self._full = False
            log.info("traces queued again", extra={"fields": {"dropped": self.dropped}})

    async def _store(self, rows: list[Any]) -> None:
        assert self._storage is not None
        try:
            await store.insert(self._storage, rows)
        except StorageUnavailable as exc:
            self.dropped += len(rows)
            if not self._failing:
                log.warning(
                    "traces dropped: the database is unavailable",
                    extra={"fields": {"error": exc.message, "dropped": len(rows)}},
                )
            self._failing = True
            return
        if self._failing:
            log.info("traces written again")
        self._failing = False
        self.written += len(rows)


class TraceCounts(Collector):
    """``flowhooks_traces_written_total`` and ``flowhooks_traces_dropped_total``."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        r = self.recorder
        written = CounterMetricFamily(
            "flowhooks_traces_written", "Traces of envelopes stored by this process"
        )
        written.add_metric([], r.written if r is not None else 0)
        yield written
        dropped = CounterMetricFamily(
            "flowhooks_traces_dropped",
            "Traces not stored: the queue was full, or the database unavailable",
        )
        dropped.add_metric([], r.dropped if r is not None else 0)
        yield dropped
