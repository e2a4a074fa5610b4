"""The delivery loop: claim due webhook deliveries under a lease, send, write the outcome.

Runs beside the dispatcher in ``flowhooks serve`` and ``flowhooks worker``. Each turn
it finds endpoints with due deliveries that are not backed off, shares the free slots
among them (``webhooks.fairness.share``, pure: clients first, then endpoints; failing
endpoints only their part) and claims that many of each endpoint's oldest events: at
most ``concurrency`` in flight in this process and ``per_endpoint`` to one endpoint,
so one endpoint's events start in the order they happened. Each is sent through the
process's shared session inside the SSRF guard, signed when the endpoint has a
secret; what its answer means is ``webhooks.retry.decide`` for the event and
``webhooks.retry.Breaker`` for the endpoint (pure). A worker that dies mid-send
leaves its claims to be taken again when their lease runs out (the same
``webhook-id`` is sent again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from flowhooks import __version__
from flowhooks.batching import GroupCommit
from flowhooks.clock import Clock
from flowhooks.errors import HandlerFailed
from flowhooks.integrations.http import ForbiddenTarget, NoAnswer, guarded, read_body
from flowhooks.settings import Settings
from flowhooks.storage import Storage, outbox
from flowhooks.vault import SealBroken, VaultUnavailable
from flowhooks.webhooks import fairness, signing, templates
from flowhooks.webhooks.endpoints import ID_PREFIX, Target
from flowhooks.webhooks.fairness import Endpoint
from flowhooks.webhooks.retry import (
    FORBIDDEN,
    Backoff,
    Breaker,
    Decision,
    Result,
    decide,
    endpoint_failed,
)
from flowhooks.webhooks.service import Endpoints
from flowhooks.workers.dispatcher import worker_id
from flowhooks.workers.turns import run_turns

log = logging.getLogger("flowhooks.delivery")
USER_AGENT = f"flowhooks/{__version__}"
# performance: finding the due endpoints reads the whole backlog; while one lasts, turns
# (one a finished attempt) reuse the last list, less what they claimed, this long
DUE_REUSE_S = 0.05
HEALTH_EVERY_S = 1.0  # how often /readyz's list of endpoints in back-off is refreshed
MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's answer read; its status alone decides


def request_of(
    target: Target, claimed: outbox.Claimed, timestamp: int
) -> tuple[str, bytes, dict[str, str]]:
    """The filled URL, body and headers of one attempt: signed when the endpoint has a
    secret (by both while a rotated one is in its grace), with its basic auth."""
    variables = claimed.variables
    body = templates.fill_body(target.body, variables)
    headers = {
        name: templates.fill_header(value, variables) for name, value in target.headers.items()
    }
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    if target.basic_auth is not None:
        headers["Authorization"] = aiohttp.encode_basic_auth(*target.basic_auth)
    if target.keys:
        keys = target.keys_at(datetime.fromtimestamp(timestamp, UTC))
        headers.update(signing.headers(keys, claimed.event_id, timestamp, body))
    else:  # unsigned: the id still lets a receiver drop a repeat
        headers.update({"webhook-id": claimed.event_id, "webhook-timestamp": str(timestamp)})
    return templates.fill_url(target.url, variables), body, headers


def config_targets(settings: Settings) -> dict[Endpoint, Target]:
    """The config's hooks as targets: (client, event) -> Target."""
    return {
        (name, event): Target(
            event,
            name,
            hook.url,
            headers=hook.headers,
            body=hook.body,
            keys=() if hook.key is None else (hook.key,),
        )
        for name, client in settings.clients.items()
        for event, hook in client.webhooks.items()
    }


class DeliveryLoop:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        http: aiohttp.ClientSession,
        clock: Clock,
        on_attempt: Callable[[str], None] | None = None,
        owner: str | None = None,
        rand: Callable[[], float] = random.random,  # jitter; not security
    ) -> None:
        self.settings = settings
        self.conf = settings.delivery
        self.storage = storage
        self.http = http
        self.clock = clock
        self.on_attempt = on_attempt
        self.owner = owner or worker_id()
        self.rand = rand
        self.endpoints = Endpoints(settings, storage, clock)  # the stored ones, read fresh
        self.hooks = config_targets(settings)
        self.backoff = Backoff(self.conf.initial_backoff_seconds, self.conf.max_backoff_seconds)
        self.breaker = Breaker(self.conf.breaker_failures, self.backoff)
        self.slots = fairness.Slots(
            self.conf.concurrency,
            self.conf.per_endpoint,
            self.conf.failing_slots,
            # one full share kept for endpoints that answer (at most half of the slots)
            max(1, self.conf.concurrency - self.conf.per_endpoint, self.conf.concurrency // 2),
            self.conf.breaker_failures,
        )
        # attempts that end while one outcome commits are written by the next, together
        self._outcomes = GroupCommit(self._write_outcomes)
        self._due: list[fairness.Due] = []  # the last due list, less what was claimed since
        self._due_at = -DUE_REUSE_S
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[Endpoint] = Counter()
        self._failing_in_flight = 0  # slots held by endpoints that were failing when claimed
        self._tick = 0  # counts the slots given, so equals take turns
        self._served_clients: dict[str, int] = {}
        self._served_endpoints: dict[Endpoint, int] = {}
        self._answering: set[Endpoint] = set()  # last attempt from here delivered: full share
        self.failing: list[outbox.EndpointHealth] = []  # as of ``_health_at``, for /readyz
        self._health_at = -HEALTH_EVERY_S
        self.alive_at = 0.0  # monotonic time of the last completed turn, for /readyz

    def wake(self) -> None:
        """New deliveries were written: the next turn looks for them."""
        self._due_at = -DUE_REUSE_S
        self._wake.set()

    async def _write_outcomes(self, outcomes: Sequence[outbox.Outcome]) -> list[outbox.Finished]:
        return await outbox.finish_many(self.storage, self.owner, outcomes)

    def _alive(self) -> None:
        self.alive_at = time.monotonic()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def failing_in_flight(self) -> int:
        return self._failing_in_flight

    def backed_off(self) -> list[outbox.EndpointHealth]:
        """Endpoints backed off as a whole now (as of the last refresh, at most a second old)."""
        now = self.clock.now()
        return [h for h in self.failing if h.backed_off(now)]

    def fingerprints(self) -> dict[tuple[str, str], str]:
        return {
            (name, event): hook.fingerprint
            for name, client in self.settings.clients.items()
            for event, hook in client.webhooks.items()
        }

    async def start(self) -> None:
        """Enable endpoints a 410 disabled whose URL the config has changed since."""
        give_up = timedelta(hours=self.conf.give_up_hours)
        changed = await outbox.enable_changed(
            self.storage, self.fingerprints(), self.clock.now(), give_up
        )
        for client, event in changed:
            log.info(
                "webhook endpoint re-enabled: its URL changed",
                extra={"fields": {"client": client, "event": event}},
            )

    async def run(self, stop: asyncio.Event) -> None:
        await run_turns(self.turn, self._wake, stop, self.conf.poll_seconds, log, self._alive)
        await self.drain()

    async def drain(self, timeout: float | None = None) -> None:
        """Let sends in flight finish (their outcomes are written) before stopping."""
        if self._inflight:
            await asyncio.wait(
                set(self._inflight), timeout=timeout or self.conf.timeout_seconds + 5
            )

    async def turn(self) -> int:
        """Share the free slots among the endpoints with due deliveries, claim; how many."""
        now = self.clock.now()
        if time.monotonic() - self._health_at >= HEALTH_EVERY_S:
            self.failing = await outbox.failing_endpoints(self.storage)
            self._health_at = time.monotonic()
        if len(self._inflight) >= self.conf.concurrency:
            return 0
        # Taken before the query: an attempt that ends during it (its outcome perhaps not
        # seen by the query) still counts as in flight; its end wakes the next turn.
        in_flight, failing_in_flight = Counter(self._per_endpoint), self._failing_in_flight
        answering = frozenset(self._answering)
        if not self._due or time.monotonic() - self._due_at >= DUE_REUSE_S:
            self._due = await outbox.due_endpoints(self.storage, now)
            self._due_at = time.monotonic()
        due = self._due
        given = fairness.share(
            due,
            in_flight,
            failing_in_flight,
            self.slots,
            self._served_clients,
            self._served_endpoints,
            answering,
        )
        if not given:
            return 0
        if len(self._served_endpoints) > 10_000:  # endpoints long gone: start the turns over
            self._served_clients.clear()
            self._served_endpoints.clear()
            self._answering.clear()
        for endpoint in given:
            self._tick += 1
            self._served_clients[endpoint[0]] = self._served_endpoints[endpoint] = self._tick
        failing = {d.endpoint for d in due if d.failures > 0}
        lease_until = now + timedelta(seconds=self.conf.lease_seconds)
        grants = Counter(given)
        claimed = await outbox.claim(self.storage, grants, self.owner, now, lease_until)
        self._due = fairness.after_claims(due, grants, Counter(c.target for c in claimed))
        for c in claimed:
            self._start(c, c.target in failing)
        return len(claimed)

    def _start(self, claimed: outbox.Claimed, failing: bool) -> None:
        endpoint = claimed.target
        self._per_endpoint[endpoint] += 1
        self._failing_in_flight += failing
        task = asyncio.create_task(self._deliver(claimed, failing))
        self._inflight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:  # a bug: its lease re-sends it
                log.error(
                    "webhook delivery failed unexpectedly",
                    exc_info=t.exception(),
                    extra={"fields": {"deliveryId": claimed.id}},
                )
            self._inflight.discard(t)
            self._per_endpoint[endpoint] -= 1
            if not self._per_endpoint[endpoint]:
                del self._per_endpoint[endpoint]
            self._failing_in_flight -= failing
            self._wake.set()  # a slot is free: claim the next

        task.add_done_callback(done)

    async def _target(self, claimed: outbox.Claimed) -> Target | Decision | Result:
        """Where this delivery goes; a decision when it goes nowhere (deleted, disabled,
        not configured); a failed result when the stored secret cannot be opened."""
        client, name = claimed.target
        if name.startswith(ID_PREFIX):
            try:
                stored = (await self.endpoints.targets([name]))[name]
            except (VaultUnavailable, SealBroken):
                return Result(error="cannot open the webhook's secret: check [security] secret_key")
            if stored is None:
                return Decision("dead", None, "the webhook was deleted")
            if not stored.enabled:
                return Decision("disabled", None, "the webhook is disabled")
            return stored
        if name.startswith("url:"):
            secret = (
                self.settings.clients[client].webhook_secret
                if client in self.settings.clients
                else None
            )
            keys = () if secret is None else (signing.secret_key(secret.get_secret_value()),)
            return Target(name, client, claimed.url or "", keys=keys)
        hook = self.hooks.get((client, name))
        if hook is None:
            return Decision("dead", None, "no webhook is configured for this client and event")
        return hook

    async def _send(self, target: Target, claimed: outbox.Claimed) -> Result:
        url, body, headers = request_of(target, claimed, int(self.clock.now().timestamp()))
        timeout = aiohttp.ClientTimeout(total=self.conf.timeout_seconds)
        try:
            with guarded(not self.settings.security.allow_private_targets):
                async with self.http.post(
                    url, data=body, headers=headers, allow_redirects=False, timeout=timeout
                ) as resp:
                    result = Result(status=resp.status, retry_after=resp.headers.get("Retry-After"))
                    with suppress(NoAnswer, TimeoutError, aiohttp.ClientError):
                        await read_body(resp, MAX_ANSWER_BYTES)  # so the connection is kept
                    return result
        except ForbiddenTarget:
            return Result(error=FORBIDDEN)
        except TimeoutError:
            return Result(error=f"timeout after {self.conf.timeout_seconds:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Result(error=f"connection failed: {type(exc).__name__}")

    async def _deliver(self, claimed: outbox.Claimed, was_failing: bool) -> None:
        started = time.perf_counter()
        report = None
        target = await self._target(claimed)
        fingerprint = target.fingerprint if isinstance(target, Target) else ""
        if isinstance(target, Decision):
            result, decision = Result(error=target.error), target
        else:
            result = await self._send(target, claimed) if isinstance(target, Target) else target
            decision = decide(
                result,
                claimed.attempts,
                self.clock.now(),
                claimed.give_up_at,
                self.backoff,
                self.rand(),
            )
            report = self._endpoint_report(claimed, fingerprint, result, decision, was_failing)
        outcome = (
            "forbidden"
            if result.error == FORBIDDEN
            else ("retry" if decision.state == "pending" else decision.state)
        )
        if self.on_attempt is not None:
            self.on_attempt(outcome)
        fields = {
            "deliveryId": claimed.id,
            "eventId": claimed.event_id,
            "client": claimed.client,
            "event": claimed.event,
            "endpoint": claimed.target[1],
            "attempt": claimed.attempts,
            "status": result.status,
            "outcome": outcome,
        }
        if decision.state != "delivered":
            log.info(
                "webhook attempt failed", extra={"fields": {**fields, "error": decision.error}}
            )
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        attempt = outbox.Outcome(
            claimed, decision, result.status, self.clock.now(), fingerprint, report, elapsed_ms
        )
        try:
            finished = await self._outcomes.submit(attempt)
        except HandlerFailed:  # the database is unavailable, or the process is stopping
            log.error(
                "could not record a delivery attempt; its lease will re-send it",
                extra={"fields": fields},
            )
            return
        self._log_health(claimed, finished, decision)

    def _endpoint_report(
        self,
        claimed: outbox.Claimed,
        fingerprint: str,
        result: Result,
        decision: Decision,
        was_failing: bool,
    ) -> outbox.EndpointReport | None:
        """What the attempt says about its endpoint (remembered here: does it answer?)."""
        failed = endpoint_failed(result)
        if failed is None:
            return None
        endpoint = claimed.target
        if failed:
            self._answering.discard(endpoint)
        else:
            self._answering.add(endpoint)
        error = decision.error or ""
        return outbox.EndpointReport(
            failed, was_failing, error, fingerprint, self.breaker, self.rand()
        )

    def _log_health(
        self, claimed: outbox.Claimed, finished: outbox.Finished, decision: Decision
    ) -> None:
        """One line when an endpoint is backed off as a whole, one when it answers again."""
        fields: dict[str, Any] = {
            "client": claimed.client,
            "event": claimed.event,
            "endpoint": claimed.target[1],
        }
        if finished.backed_off_until is not None:
            until = finished.backed_off_until.isoformat()
            log.warning(
                "webhook endpoint backed off: its attempts keep failing",
                extra={"fields": {**fields, "until": until, "error": decision.error}},
            )
        elif finished.recovered:
            log.info("webhook endpoint answers again", extra={"fields": fields})
