"""The recorder: the serving process's side of traces, what the envelope route hands
answers to.

The answer never waits for its trace. ``add`` (the hot path, ~1 µs) captures the answer
— a few scalars and its two bodies copied into bytes (``record.capture``) — and appends
them to a buffer, or counts a drop when ``queue_size`` traces are already waiting
(here, in the pipe, or in the writer's hands). Every ``SEND_SECONDS`` the buffer goes
down a pipe to the writer process (``traces.writer``), which shapes and stores the
traces and reports what it wrote and dropped. Shaping and storing cost ~15-20 µs a
trace, four times what tracing may cost a validateDateTime request: in a process of
their own they run beside the serving loop, on another core (bench/README.md, "Traces").

At stop the batch is sent and the pipe closed; the writer stores everything it holds
and exits, and only then does the serving process go on stopping. A writer that dies is
started again, and the traces it held are counted as dropped. An in-memory SQLite
database cannot be reached from another process: there the same ``Writer`` runs in
this process.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
import zlib
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from flowhooks.clock import Clock
from flowhooks.settings import Settings
from flowhooks.storage import Storage
from flowhooks.storage import traces as store
from flowhooks.traces.record import (
    Answered,
    Rules,
    Shaper,
    Tokens,
    capture,
    token_digest,
)
from flowhooks.traces.writer import FRAME, Done, Writer, start_frame

log = logging.getLogger("flowhooks.traces")

SEND_SECONDS = 0.02  # the batch goes to the writer this often: one write for many traces
SEND_BATCH = 512  # or as soon as it holds this many
RESTART_SECONDS = 1.0  # a dead writer is started again after this (doubling, up to 30 s)
CLOSE_SECONDS = 30.0  # at stop, the writer has this long to store what it holds
NOT_TRACED = frozenset({"UNAUTHORIZED", "FORBIDDEN"})  # no client of ours vouched for these


def rules_of(settings: Settings) -> Rules:
    """What the writer needs of the config: no secret (cust tokens as digests)."""
    conf = settings.traces
    return Rules(
        conf.max_value_chars,
        tuple(dict.fromkeys(k.strip().lower() for k in conf.call_keys)),
        {name: c.default_region for name, c in settings.clients.items()},
        {
            token_digest(c.cust_token.get_secret_value().strip()): name
            for name, c in settings.clients.items()
            if c.cust_token is not None
        },
        {bot_id: bot.client for bot_id, bot in settings.bots.items()},
    )


class Recorder:
    """One app's traces: ``add`` from the envelope route, ``start``/``close`` around its
    life; ``written`` and ``dropped`` count for /metrics."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        conf = settings.traces
        self.enabled = conf.enabled and conf.sample_rate > 0
        self.written = 0
        self.dropped = 0
        self.rules = rules_of(settings)
        self._keys = Shaper(self.rules)  # its call_key, for sampling
        self._settings = settings
        self._rate = conf.sample_rate
        self._max = conf.queue_size
        self._now = clock.now
        self._tokens = Tokens()
        self._batch = bytearray()  # captures since the last send, one after another
        self._count = 0  # how many
        self._held = 0  # taken by add, not yet reported written or dropped
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._closing = False
        self._full = False  # dropping since the queue filled (logged on each change)
        self._link: WriterProcess | InlineWriter | None = None
        self._reported = asyncio.Event()  # set by each report of the writer

    # -- the hot path ---------------------------------------------------------------

    def add(
        self,
        outcome: Answered,
        request_id: str,
        latency: float,
        wire: bytes,
        body: bytes | None = None,
    ) -> None:
        """Take one answered envelope (``wire``: the answer's bytes as sent; ``body``:
        the request's, when it was read)."""
        if outcome.error_code in NOT_TRACED:
            return
        if self._rate < 1.0 and not self._sampled(outcome):
            return
        if self._held >= self._max or self._closing:
            self.dropped += 1
            if not self._full and not self._closing:
                self._full = True
                log.warning(
                    "traces dropped: the queue is full (the database is slow or down)",
                    extra={"fields": {"queueSize": self._max}},
                )
            return
        try:
            captured = capture(outcome, request_id, latency, wire, body, self._now, self._tokens)
        except Exception:  # a bug must not cost the caller the answer
            self.dropped += 1
            log.exception("trace not captured")
            return
        self._batch += captured
        self._count += 1
        self._held += 1
        if self._count >= SEND_BATCH:
            self._send()
        elif not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_later(SEND_SECONDS, self._send)

    def _sampled(self, outcome: Answered) -> bool:
        """A call's envelopes are kept or left together (by its call key); others alone."""
        env = outcome.env
        key = self._keys.call_key(env.keys) if env is not None else ""
        if key:
            return zlib.crc32(key.encode()) / 0x1_0000_0000 < self._rate
        return random.random() < self._rate

    def _send(self) -> None:
        self._scheduled = False
        if not self._count or self._link is None:
            return
        if self._link.send(self._batch, self._count):
            self._batch, self._count = bytearray(), 0
        elif not self._closing and self._loop is not None:  # the writer is starting again
            self._scheduled = True
            self._loop.call_later(SEND_SECONDS, self._send)

    def _done(self, written: int, dropped: int) -> None:
        """The writer's report: stored, or given up (the database, a writer that died)."""
        self.written += written
        self.dropped += dropped
        self._held -= written + dropped
        self._reported.set()
        if self._full and self._held < self._max:
            self._full = False
            log.info("traces queued again", extra={"fields": {"dropped": self.dropped}})

    async def flush(self, timeout: float = 30.0) -> None:
        """Send what is taken now and wait until the writer has reported all of it
        (stored or dropped): what a test reads next is there."""
        self._send()
        async with asyncio.timeout(timeout):
            while self._held > 0:
                self._reported.clear()
                await self._reported.wait()

    # -- its life -------------------------------------------------------------------

    async def start(self, storage: Storage) -> None:
        self._loop = asyncio.get_running_loop()
        conf = self._settings.storage
        target = store.writer_target(conf.url, conf.sqlite_synchronous, conf.statement_cache)
        if target is None:  # in memory: only this process reaches it
            writer = Writer(Shaper(self.rules), lambda r: store.insert(storage, r), self._done)
            self._link = InlineWriter(writer)
        else:
            frame = start_frame(self.rules, target, self._settings.server.log_level)
            self._link = WriterProcess(frame, self._done)
        await self._link.start()

    async def close(self) -> None:
        """Hand the writer everything taken, wait until it is stored; take no more."""
        self._closing = True
        if self._link is None:
            return
        self._send()
        await self._link.close()
        if self._count:  # the writer was down at the end
            lost, self._batch, self._count = self._count, bytearray(), 0
            self._done(0, lost)
            log.warning("traces dropped: no writer at stop", extra={"fields": {"dropped": lost}})

    @property
    def writer_pid(self) -> int | None:
        """The writer process's pid (None: in this process, or not running)."""
        return self._link.pid if isinstance(self._link, WriterProcess) else None


class InlineWriter:
    """The ``Writer`` in this process (an in-memory database)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._writer.run(), name="traces")

    def send(self, batch: bytearray, count: int) -> bool:
        self._writer.put(bytes(batch), count)
        return True

    async def close(self) -> None:
        self._writer.close()
        if self._task is not None:
            await self._task


class WriterProcess:
    """The writer process: started, fed through its stdin, its reports read from its
    stdout, started again when it dies (its traces counted as dropped)."""

    def __init__(self, first_frame: bytes, done: Done) -> None:
        self._first = first_frame
        self._done = done
        self._proc: asyncio.subprocess.Process | None = None
        self._outstanding = 0  # sent to the process, not yet reported
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        await self._spawn()
        self._task = asyncio.create_task(self._supervise(), name="traces-writer")

    async def _spawn(self) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "flowhooks.traces.writer",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except (OSError, ValueError, TypeError) as exc:  # no executable, no processes left
            log.error("traces writer not started", extra={"fields": {"error": str(exc)}})
            return
        assert proc.stdin is not None
        proc.stdin.write(self._first)
        self._proc = proc

    def send(self, batch: bytearray, count: int) -> bool:
        """Write ``count`` captures (the pipe's buffer takes them: never used again here)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return False
        proc.stdin.write(FRAME.pack(len(batch), count))
        proc.stdin.write(batch)
        self._outstanding += count
        return True

    async def _supervise(self) -> None:
        delay = RESTART_SECONDS
        while True:
            proc = self._proc
            if proc is not None:
                began = time.monotonic()
                await self._watch(proc)
                lost, self._outstanding, self._proc = self._outstanding, 0, None
                if lost:
                    self._done(0, lost)
                if self._closing:
                    return
                log.warning(
                    "traces writer stopped; starting it again",
                    extra={"fields": {"exitCode": proc.returncode, "dropped": lost}},
                )
                if time.monotonic() - began > 60:
                    delay = RESTART_SECONDS  # it had been running well
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            await self._spawn()

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        """Read the process's reports until it exits."""
        assert proc.stdout is not None
        async for line in proc.stdout:
            try:
                written, dropped = (int(n) for n in line.split())
            except ValueError:  # not a report (something else printed): not ours to read
                continue
            self._outstanding -= written + dropped
            self._done(written, dropped)
        await proc.wait()

    async def close(self) -> None:
        self._closing = True
        proc, task = self._proc, self._task
        if task is None:
            return
        if proc is None or proc.stdin is None:
            task.cancel()  # between two lives: nothing is held
            await asyncio.gather(task, return_exceptions=True)
            return
        proc.stdin.close()  # what is buffered is written first; then the end of its input
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_SECONDS)
        except TimeoutError:
            log.error(
                "traces writer did not finish in time; stopped",
                extra={"fields": {"seconds": CLOSE_SECONDS}},
            )
            proc.kill()
            await task


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
            "Traces not stored: the queue was full, the database unavailable, or the"
            " writer process died holding them",
        )
        dropped.add_metric([], r.dropped if r is not None else 0)
        yield dropped
