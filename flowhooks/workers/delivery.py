"""The delivery loop: claim due webhook deliveries under a lease, send, write the outcome.

Runs beside the dispatcher in ``flowhooks serve`` and ``flowhooks worker``. Each turn
it finds endpoints with due deliveries (oldest event first) and claims, per endpoint,
as many as its free slots allow: at most ``concurrency`` in flight in this process and
``per_endpoint`` to one endpoint, so one endpoint's events start in the order they
happened. Each is sent through the process's shared session inside the SSRF guard,
signed when the endpoint has a secret; what its answer means is
``webhooks.retry.decide`` (pure). A worker that dies mid-send leaves its claims to
be taken again when their lease runs out (the same ``webhook-id`` is sent again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta

import aiohttp

from flowhooks import __version__
from flowhooks.clock import Clock
from flowhooks.errors import StorageUnavailable
from flowhooks.integrations.http import ForbiddenTarget, NoAnswer, guarded, read_body
from flowhooks.settings import Settings, WebhookSettings
from flowhooks.storage import Storage, outbox
from flowhooks.webhooks import signing, templates
from flowhooks.webhooks.retry import FORBIDDEN, Backoff, Decision, Result, decide
from flowhooks.workers.dispatcher import worker_id
from flowhooks.workers.turns import run_turns

log = logging.getLogger("flowhooks.delivery")
USER_AGENT = f"flowhooks/{__version__}"
MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's answer read; its status alone decides


def request_of(
    hook: WebhookSettings, claimed: outbox.Claimed, timestamp: int
) -> tuple[str, bytes, dict[str, str]]:
    """The filled URL, body and headers of one attempt (signed when there is a secret)."""
    variables = claimed.variables
    body = templates.fill_body(hook.body, variables)
    headers = {
        name: templates.fill_header(value, variables) for name, value in hook.headers.items()
    }
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    key = hook.key
    if key is not None:
        headers.update(signing.headers(key, claimed.event_id, timestamp, body))
    else:  # unsigned: the id still lets a receiver drop a repeat
        headers.update({"webhook-id": claimed.event_id, "webhook-timestamp": str(timestamp)})
    return templates.fill_url(hook.url, variables), body, headers


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
        self.backoff = Backoff(self.conf.initial_backoff_seconds, self.conf.max_backoff_seconds)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[tuple[str, str]] = Counter()
        self.alive_at = 0.0  # monotonic time of the last completed turn, for /readyz

    def wake(self) -> None:
        self._wake.set()

    def _alive(self) -> None:
        self.alive_at = time.monotonic()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

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
        """Claim what the free slots allow, endpoint by endpoint; returns how many."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.conf.lease_seconds)
        claimed = 0
        for client, event in await outbox.due_endpoints(self.storage, now):
            if len(self._inflight) >= self.conf.concurrency:
                break
            free = min(
                self.conf.concurrency - len(self._inflight),
                self.conf.per_endpoint - self._per_endpoint[(client, event)],
            )
            if free <= 0:
                continue
            for c in await outbox.claim(
                self.storage, client, event, free, self.owner, now, lease_until
            ):
                self._start(c)
                claimed += 1
        return claimed

    def _start(self, claimed: outbox.Claimed) -> None:
        endpoint = (claimed.client, claimed.event)
        self._per_endpoint[endpoint] += 1
        task = asyncio.create_task(self._deliver(claimed))
        self._inflight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._inflight.discard(t)
            self._per_endpoint[endpoint] -= 1
            self._wake.set()  # a slot is free: claim the next

        task.add_done_callback(done)

    async def _send(self, hook: WebhookSettings, claimed: outbox.Claimed) -> Result:
        url, body, headers = request_of(hook, claimed, int(self.clock.now().timestamp()))
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

    async def _deliver(self, claimed: outbox.Claimed) -> None:
        client = self.settings.clients.get(claimed.client)
        hook = client.webhooks.get(claimed.event) if client else None  # type: ignore[call-overload]
        if hook is None:
            result, decision = (
                Result(error="no webhook configured"),
                Decision("dead", None, "no webhook is configured for this client and event"),
            )
        else:
            result = await self._send(hook, claimed)
            decision = decide(
                result,
                claimed.attempts,
                self.clock.now(),
                claimed.give_up_at,
                self.backoff,
                self.rand(),
            )
        outcome = (
            "forbidden"
            if result.error == FORBIDDEN
            else ("retry" if decision.state == "pending" else decision.state)
        )
        if self.on_attempt is not None:
            self.on_attempt(outcome)
        fields = {
            "deliveryId": claimed.id,
            "webhookId": claimed.event_id,
            "client": claimed.client,
            "event": claimed.event,
            "attempt": claimed.attempts,
            "status": result.status,
            "outcome": outcome,
        }
        if decision.state != "delivered":
            log.info(
                "webhook attempt failed", extra={"fields": {**fields, "error": decision.error}}
            )
        try:
            await outbox.finish(
                self.storage,
                claimed,
                self.owner,
                decision,
                result.status,
                self.clock.now(),
                hook.fingerprint if hook else "",
            )
        except StorageUnavailable:
            log.error(
                "could not record a delivery attempt; its lease will re-send it",
                extra={"fields": fields},
            )
