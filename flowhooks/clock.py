"""The one injectable clock handlers read "now" from."""

from __future__ import annotations

from datetime import UTC, datetime
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


@lru_cache(maxsize=256)
def parse_now_header(value: str) -> datetime:
    """``X-Flowhooks-Now``: ISO 8601 with an offset; raises ValueError otherwise.

    The moment comes back in UTC, like ``SystemClock.now()``: handlers see the same
    kind of "now" under test as in production.
    """
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        raise ValueError("needs an offset, e.g. 2019-12-07T10:00:00+05:30")
    return moment.astimezone(UTC)
