"""What one delivery attempt's result means, as a pure decision (procrastinate's shape).

Only 200 and 202 are delivered (seeds/001). 410 disables the endpoint. Everything else
(another status, a 3xx, a connection error, a timeout) is retried: the n-th retry
waits a random time up to min(initial * 2^(n-1), max) ("full jitter"), or what a
``Retry-After`` on 429/503 asks, capped at max; past ``give_up_at`` it is dead.

The endpoint as a whole has a breaker too: ``Breaker.back_off`` says when an endpoint
whose attempts keep failing gets no attempt at all for a while (issue 22).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DELIVERED_STATUSES = frozenset({200, 202})
FORBIDDEN = "forbidden_target"


@dataclass(frozen=True)
class Backoff:
    initial_seconds: float = 5.0
    max_seconds: float = 3600.0

    def cap(self, retry: int) -> float:
        """The longest wait before the ``retry``-th retry (1-based)."""
        return min(self.initial_seconds * 2.0 ** min(retry - 1, 60), self.max_seconds)

    def wait(self, retry: int, rand: float) -> float:
        """Full jitter: uniformly up to the cap (``rand`` in [0, 1))."""
        return rand * self.cap(retry)


@dataclass(frozen=True)
class Result:
    """What one attempt got: an HTTP status, or an error (connection, timeout, refusal)."""

    status: int | None = None
    error: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class Decision:
    state: str  # delivered | pending | dead | disabled
    next_attempt_at: datetime | None
    error: str | None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) as seconds from now."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def decide(
    result: Result,
    attempts: int,
    now: datetime,
    give_up_at: datetime,
    backoff: Backoff,
    rand: float,
) -> Decision:
    """The delivery's next state after its ``attempts``-th attempt got ``result``."""
    if result.status in DELIVERED_STATUSES:
        return Decision("delivered", None, None)
    if result.error == FORBIDDEN:
        return Decision("dead", None, FORBIDDEN)
    if result.status == 410:
        return Decision("disabled", None, "410 Gone: endpoint disabled until re-enabled")
    error = result.error or f"HTTP {result.status}"
    wait = backoff.wait(attempts, rand)
    if result.status in (429, 503):
        asked = retry_after_seconds(result.retry_after, now)
        if asked is not None:
            wait = min(asked, backoff.max_seconds)
    at = now + timedelta(seconds=wait)
    if at > give_up_at:
        return Decision("dead", None, f"{error}; gave up")
    return Decision("pending", at, error)


def endpoint_failed(result: Result) -> bool | None:
    """Whether an attempt says its endpoint is failing (anything but delivered: a timeout,
    a failed connection, any other answer); None when it says nothing about that (a 410
    disables the endpoint and a forbidden target is dead: they have their own states)."""
    if result.status == 410 or result.error == FORBIDDEN:
        return None
    return result.status not in DELIVERED_STATUSES


@dataclass(frozen=True)
class Breaker:
    """An endpoint backed off as a whole (a circuit breaker), beside each event's retry.

    After ``failures`` failed attempts in a row the endpoint gets no attempt for a
    random time between half and all of min(initial * 2^(k-1), max), k being how many
    times in a row it has been backed off; then one attempt at a time probes it: a
    success ends it, a failure backs it off again for twice as long.
    """

    failures: int = 3
    backoff: Backoff = Backoff()

    def back_off(
        self, failures: int, backoffs: int, until: datetime | None, now: datetime, rand: float
    ) -> tuple[int, datetime] | None:
        """After the endpoint's ``failures``-th failure in a row: its new (k, until), or
        None when it is not to be backed off (too few failures, or already backed off by
        an attempt that failed beside this one)."""
        if failures < self.failures or (until is not None and until > now):
            return None
        k = backoffs + 1
        wait = self.backoff.cap(k) * (0.5 + rand / 2)
        return k, now + timedelta(seconds=wait)
