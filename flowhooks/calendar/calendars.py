"""The configured calendars of one app, by name, with that app's memo."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from flowhooks.calendar.business import BusinessCalendar
from flowhooks.calendar.memo import CalendarMemo


class Calendars(Mapping[str, BusinessCalendar]):
    """The configured calendars by name; ``find`` also matches the name in any case."""

    def __init__(
        self, calendars: Mapping[str, BusinessCalendar], callee: Iterable[str] = ()
    ) -> None:
        self._by_name = dict(calendars)
        self._callee = frozenset(callee)
        self.memo = CalendarMemo()  # this app's memo of validateDateTime answers

    def __getitem__(self, name: str) -> BusinessCalendar:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def find(self, name: str) -> BusinessCalendar | None:
        found = self._by_name.get(name)
        if found is not None:
            return found
        wanted = name.lower()
        return next((c for n, c in self._by_name.items() if n.lower() == wanted), None)

    def reads_callee_zone(self, name: str) -> bool:
        """True for a calling calendar read in each callee's own zone (``timezone = "callee"``)."""
        return name in self._callee

    def warm(self, now: datetime) -> None:
        """Build every holiday table a request can reach, so no request pays for it."""
        for c in self._by_name.values():
            c.warm(now.astimezone(c.timezone).date())
