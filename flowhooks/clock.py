"""The one injectable clock: everything that decides from "now" reads it.

Nothing else in the package reads the wall clock (``tests/unit/test_clock.py`` scans
for it). Monotonic timers (latency, timeouts, token buckets) are not "now" and may be
read anywhere.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class RunningClock:
    """A clock that starts at a chosen moment and advances in real time from there.

    ``now()`` is the start plus the monotonic time elapsed since the clock was made, so
    code that must see time pass (the dispatcher, dialers, leases, retries) runs as in
    production while what it decides does not depend on the machine's date, hour or
    zone. ``advance`` jumps ahead, e.g. past a retry delay.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start needs an offset")
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)

    def advance(self, delta: timedelta) -> None:
        self._start += delta


def clock_from(start: datetime | None) -> Clock:
    """The system clock, or a running clock from ``[testing] clock_start`` when set."""
    return SystemClock() if start is None else RunningClock(start)


def wall_clock_ms() -> int:
    """The machine's time in ms since the epoch: for log timestamps only, never a decision."""
    return time.time_ns() // 1_000_000


# "now" stays far from datetime's limits, so a date some days or years ahead never overflows
EARLIEST_YEAR, LATEST_YEAR = 1971, 8999
MAX_HEADER_CHARS = 64
MAX_INSTANT_CHARS = MAX_HEADER_CHARS


def parse_instant(value: str) -> datetime:
    """An instant a caller sent (``X-Flowhooks-Now``, a REST time parameter): ISO 8601
    with an offset, years 1971-8999, at most 64 characters; in UTC. Raises ValueError
    saying what is wrong, without quoting the value."""
    if len(value) > MAX_INSTANT_CHARS:
        raise ValueError(f"longer than {MAX_INSTANT_CHARS} characters")
    return _parse_instant(value.strip())


def parse_now_header(value: str) -> datetime:
    """``X-Flowhooks-Now``: ``parse_instant``'s rules.

    The moment comes back in UTC, like ``SystemClock.now()``: handlers see the same
    kind of "now" under test as in production.
    """
    return parse_instant(value)


@lru_cache(maxsize=256)  # replays send the same few moments; bounded: 256 x 64 chars
def _parse_instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not ISO 8601, e.g. 2019-12-07T10:00:00+05:30") from None
    if moment.tzinfo is None:
        raise ValueError("needs an offset, e.g. 2019-12-07T10:00:00+05:30")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"the year must be {EARLIEST_YEAR}-{LATEST_YEAR}")
    return moment.astimezone(UTC)
