"""The dispatcher loop: claim due calls under a lease, pace each client, dial.

It waits on whichever comes first of new work (``wake()``), the poll interval, or
stop. Each turn it (1) reports the final statuses dialers promised that are due —
the simulated dialer's, kept in the database with their attempts, so a call one
process accepted is ended on time by whichever process runs then, (2) settles calls
whose lease ran out — a worker died mid-dial, so the outcome is unknown and the call
is never re-sent at once — and calls left ``initiated`` longer than
``max_call_minutes`` with no final status, (3) claims the due calls of each client
within its ``max_concurrent_calls`` and ``max_calls_per_second`` (both held in the
database, across every dispatcher: storage/pacing.py), and (4) dials each one as its
own task, writing what came of it. A promise made here is also kept by a timer of
this process, to the second; the turns are for promises whose process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flowhooks.clock import Clock
from flowhooks.errors import StorageUnavailable
from flowhooks.integrations.dialer import Dialer
from flowhooks.outbound.model import Accepted, DialRequest, OutboundCall, Pace, Promise, Unknown
from flowhooks.outbound.service import Outbound
from flowhooks.outbound.transitions import (
    after_dial,
    kept_promise,
    lease_expired,
    no_final_status,
)
from flowhooks.settings import Settings
from flowhooks.storage import outbound as store
from flowhooks.storage import promises
from flowhooks.workers.turns import run_turns

log = logging.getLogger("flowhooks.dispatcher")
PROMISES_A_TURN = 100
DIAL_SHARE = 0.7  # of the lease: a dial returns by then (0.8: the dispatcher stops waiting)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        outbound: Outbound,
        dialer: Dialer,
        clock: Clock,
        on_lag: Callable[[float], None] | None = None,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.outbound = outbound
        self.storage = outbound.db
        self.dialer = dialer
        self.policy = outbound.policy
        self.clock = clock
        self.on_lag = on_lag
        self.owner = owner or worker_id()
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Task[None]] = set()  # promises this process keeps on time
        self.alive_at = 0.0  # monotonic time of the last completed turn, for /readyz

    def wake(self) -> None:
        self._wake.set()

    def _alive(self) -> None:
        self.alive_at = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        await run_turns(
            self.turn, self._wake, stop, self.settings.dialer.poll_seconds, log, self._alive
        )
        await self.drain()

    async def drain(self, timeout: float = 10.0) -> None:
        """Let dials in flight finish (their results are written) before stopping; the
        promises not yet due stay in the database for whichever process runs then."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout)
        for timer in list(self._timers):
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)

    async def turn(self) -> int:
        """One pass: settle dead workers' and silent calls, claim, dial; returns calls claimed."""
        now = self.clock.now()
        held = await promises.take_due(self.storage, now, self._hold_until(now), PROMISES_A_TURN)
        for promise in held:
            await self._report(promise)
        if len(held) == PROMISES_A_TURN:
            self.wake()  # more are due: the next turn at once
        for call_id in await store.expired_leases(self.storage, now):
            await self.outbound.change(
                call_id, lambda call: lease_expired(call, now, self.policy, self.owner)
            )
        minutes = self.settings.dialer.max_call_minutes
        for call_id in await store.stale_initiated(self.storage, now - timedelta(minutes=minutes)):
            await self.outbound.change(
                call_id, lambda call: no_final_status(call, now, minutes, self.owner)
            )
        claimed = 0
        lease_until = now + timedelta(seconds=self.settings.dialer.lease_seconds)
        for client in await store.clients_with_due_calls(self.storage, now):
            conf = self.settings.clients.get(client) or self.settings.clients["default"]
            pace = Pace(conf.max_calls_per_second, conf.max_concurrent_calls)
            calls = await store.claim(self.storage, client, pace, self.owner, now, lease_until)
            for call in calls:
                task = asyncio.create_task(self._dial(call))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            claimed += len(calls)
        return claimed

    async def _dial(self, call: OutboundCall) -> None:
        request = DialRequest(
            call_id=call.id,
            number=call.number,
            flow_id=call.flow_id,
            client=call.client,
            email=call.email,
            reference_id=call.reference_id,
            attempt=call.attempts + 1,
            within_seconds=self.settings.dialer.lease_seconds * DIAL_SHARE,
        )
        started = self.clock.now()
        if self.on_lag is not None:
            self.on_lag((started - call.due_at).total_seconds())
        try:
            result = await asyncio.wait_for(
                self.dialer.dial(request), self.settings.dialer.lease_seconds * 0.8
            )
        except TimeoutError:
            result = Unknown("the dialer did not return within the lease")
        except Exception as exc:  # a backend bug must not leave the call claimed forever
            log.exception("dialer crashed", extra={"fields": {"callId": call.id}})
            result = Unknown(f"the dialer failed: {type(exc).__name__}")
        jitter = random.random() * 0.25  # spreads retries; not security
        now = self.clock.now()
        try:
            changed = await self.outbound.change(
                call.id,
                lambda current: after_dial(current, result, now, self.policy, self.owner, jitter),
            )
        except StorageUnavailable:
            log.error(
                "could not record a dial result; the lease will settle it",
                extra={"fields": {"callId": call.id, "result": type(result).__name__}},
            )
            return
        promise = result.promise if isinstance(result, Accepted) else None
        if promise is not None and changed is not None and changed.attempts == request.attempt:
            timer = asyncio.create_task(self._keep(call.id, request.attempt, promise))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    def _hold_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.dialer.lease_seconds)

    async def _keep(self, call_id: str, attempt: int, promise: Promise) -> None:
        """Report a promise this process made when it falls due (unless another did)."""
        await asyncio.sleep(promise.after_seconds)  # a timer, not "now": the clock may stand
        now = self.clock.now()
        try:
            held = await promises.take(self.storage, call_id, attempt, now, self._hold_until(now))
            if held is not None:
                await self._report(held)
        except StorageUnavailable:  # kept in the database: a later turn reports it
            log.warning("promised status not reported yet", extra={"fields": {"callId": call_id}})

    async def _report(self, held: promises.Held) -> None:
        """A promised status, through the one path of every provider status."""
        status = kept_promise(held.promised, held.attempt)
        await self.outbound.apply_provider_status(held.call_id, status, self.clock.now(), once=True)
