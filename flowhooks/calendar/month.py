"""A calendar's month as a person reads it, and its next open slots: pure, no I/O."""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flowhooks.calendar.business import BusinessCalendar
from flowhooks.calendar.windows import Window


@dataclass(frozen=True)
class Day:
    day: date
    working: bool
    holiday: str | None  # its name, when the day is a holiday
    window: Window | None  # the opening hours of a working day (for the type asked)


def month_days(
    cal: BusinessCalendar, year: int, month: int, type_name: str | None = None
) -> list[Day]:
    """Every day of a month: worked or not, the holiday's name, the day's window."""
    count = _stdlib_calendar.monthrange(year, month)[1]
    days = []
    for n in range(1, count + 1):
        d = date(year, month, n)
        working = cal.is_working(d)
        days.append(
            Day(d, working, cal.holiday_name(d), cal.window(d, type_name) if working else None)
        )
    return days


def next_slots(
    cal: BusinessCalendar, now: datetime, count: int = 5, type_name: str | None = None
) -> list[datetime]:
    """The next ``count`` bookable slots from ``now``: the earliest bookable minute, then
    the opening of each following working day, within ``max_days_ahead``."""
    today, earliest = cal.today_and_earliest(now)
    last_day = today + timedelta(days=cal.max_days_ahead)
    found: list[datetime] = []
    start, floor = today, earliest
    while len(found) < count:
        slot = cal.next_slot(start, floor, None, type_name)
        if slot is None or slot.date() > last_day:
            break
        found.append(slot)
        start = slot.date() + timedelta(days=1)
    return found
