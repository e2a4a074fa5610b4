"""Opening hours: weekdays, a day's window, wall times, the 12-hour clock text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_NUMBERS = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)} | {
    name[:3].lower(): i for i, name in enumerate(WEEKDAY_NAMES)
}


def parse_weekday(text: str) -> int:
    """``"Mon"`` / ``"monday"`` -> 0 .. 6; raises ValueError naming the bad text."""
    try:
        return WEEKDAY_NUMBERS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a weekday name (Mon..Sun)") from None


# -- windows ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Opening hours of one day, half-open, in minutes since midnight."""

    open: int
    close: int

    def __post_init__(self) -> None:
        if not 0 <= self.open < self.close <= 24 * 60:
            raise ValueError(f"window {self.open}-{self.close} must open before it closes")

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"09:00-18:00"``; ``24:00`` may close a window."""
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not m:
            raise ValueError(f"{text!r} is not a window of the form HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{text!r} has an hour or minute out of range")
        if h1 * 60 + m1 >= h2 * 60 + m2:
            raise ValueError(f"{text!r} must open before it closes")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def contains(self, t: time) -> bool:
        return self.open <= t.hour * 60 + t.minute < self.close

    def opening(self) -> time:
        return minute_to_time(self.open)

    def text(self) -> str:
        """``09:00 AM to 06:00 PM``, the form flows speak and put in SMS."""
        return f"{clock12(self.open)} to {clock12(self.close)}"


def minute_to_time(minute: int) -> time:
    return time(minute // 60, minute % 60)


@lru_cache(maxsize=2048)  # 1,441 minutes a clock can show
def clock12(minute: int) -> str:
    hour, mins = divmod(minute % (24 * 60), 60)
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour % 12) or 12:02d}:{mins:02d} {suffix}"


def format_slot_time(t: time) -> str:
    return clock12(t.hour * 60 + t.minute)


# A caller's date becomes an instant only inside these days: an ISO offset (< 24 h) and
# a zone's (<= 14 h) then never leave datetime's years 1-9999, and any date outside them
# is past or too far for every clock (the clock's "now" is 1971-8999).
FIRST_DAY, LAST_DAY = date(1, 1, 3), date(9999, 12, 29)


def in_bounds(d: date) -> bool:
    """True when ``d`` may be turned into an instant in any zone (see FIRST_DAY)."""
    return FIRST_DAY <= d <= LAST_DAY


@lru_cache(maxsize=8192)  # the same openings and closings, day after day
def wall_time(d: date, t: time, zone: ZoneInfo) -> datetime:
    """Local wall time ``d t`` in ``zone``; a time in a DST gap moves forward."""
    return datetime.combine(d, t, tzinfo=zone).astimezone(UTC).astimezone(zone)
