"""A business calendar: an immutable value saying when it works and how far it books."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from flowhooks.calendar.holidays import holiday_table
from flowhooks.calendar.windows import Window, minute_to_time, wall_time

SEARCH_DAYS = 366


@dataclass(frozen=True)
class TypeHours:
    """Per-type windows (e.g. ``Callback``) that override the calendar's."""

    hours: Window | None = None
    day_hours: Mapping[int, Window] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """One named calendar: where it is, when it works, how far ahead it books."""

    name: str
    timezone: ZoneInfo
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: Mapping[date, str] = field(default_factory=dict)
    working_days: frozenset[date] = frozenset()
    workdays: frozenset[int] = frozenset(range(5))
    hours: Window = Window(9 * 60, 18 * 60)  # noqa: RUF009 (Window is frozen)
    day_hours: Mapping[int, Window] = field(default_factory=dict)
    max_days_ahead: int = 30
    min_lead_minutes: int = 0
    types: Mapping[str, TypeHours] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("extra_holidays", "day_hours", "types"):  # read-only views: a value
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def holiday_name(self, d: date) -> str | None:
        """Name of the holiday on ``d`` (extra holidays win), or None."""
        if d in self.extra_holidays:
            return self.extra_holidays[d]
        if self.country is None:
            return None
        return holiday_table(self.country, self.subdivision, d.year).get(d)

    def is_working(self, d: date) -> bool:
        if d in self.working_days:
            return True
        return d.weekday() in self.workdays and self.holiday_name(d) is None

    def find_type(self, name: str) -> str | None:
        """The configured type matching ``name`` case-insensitively."""
        wanted = name.strip().lower()
        return next((t for t in self.types if t.lower() == wanted), None)

    def window(self, d: date, type_name: str | None = None) -> Window:
        """The window of ``d`` for a type: type day_hours, type hours, day_hours, hours."""
        wd = d.weekday()
        th = self.types.get(type_name) if type_name else None
        if th is not None:
            if wd in th.day_hours:
                return th.day_hours[wd]
            if th.hours is not None:
                return th.hours
        return self.day_hours.get(wd, self.hours)

    def years_to_warm(self, today: date) -> Iterable[int]:
        last = today + timedelta(days=self.max_days_ahead + SEARCH_DAYS)
        return range(today.year, last.year + 1)

    def warm(self, today: date) -> None:
        """Build the holiday tables a request from ``today`` can reach."""
        if self.country is not None:
            for year in self.years_to_warm(today):
                holiday_table(self.country, self.subdivision, year)

    def at(self, d: date, t: time, zone: ZoneInfo | None = None) -> datetime:
        """Local wall time ``d t`` as an aware datetime; a time in a DST gap moves forward."""
        return wall_time(d, t, zone or self.timezone)

    def earliest(self, now: datetime, zone: ZoneInfo | None = None) -> datetime:
        """now + min_lead_minutes, rounded up to the whole minute, in local time."""
        moment = now.astimezone(UTC) + timedelta(minutes=self.min_lead_minutes)
        if moment.second or moment.microsecond:
            moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return moment.astimezone(zone or self.timezone)

    def today_and_earliest(self, now: datetime) -> tuple[date, datetime]:
        """Today in the calendar's zone, and the earliest bookable minute, for ``now``."""
        return now.astimezone(self.timezone).date(), self.earliest(now)

    def next_slot(
        self,
        start: date,
        earliest: datetime,
        wanted: time | None = None,
        type_name: str | None = None,
        zone: ZoneInfo | None = None,
    ) -> datetime | None:
        """First working date from ``start`` whose window still has a minute >= earliest.

        The slot is ``wanted`` when it lies in that day's window, else the opening;
        moved up to ``earliest`` when before it. None when no date within 366 days works.
        """
        for offset in range(SEARCH_DAYS):
            d = start + timedelta(days=offset)
            if not self.is_working(d):
                continue
            win = self.window(d, type_name)
            last_minute = self.at(d, minute_to_time(win.close - 1), zone)
            if last_minute < earliest:
                continue
            slot_time = wanted if wanted is not None and win.contains(wanted) else win.opening()
            slot = self.at(d, slot_time, zone)
            return earliest if slot < earliest else slot
        return None

    def next_open_moment(self, moment: datetime, zone: ZoneInfo | None = None) -> datetime | None:
        """``moment`` itself when the calendar is open then, else the next open minute."""
        local = moment.astimezone(zone or self.timezone)
        return self.next_slot(local.date(), local, None, zone=zone)
