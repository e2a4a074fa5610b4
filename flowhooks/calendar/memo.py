"""The one place validateDateTime's answers are memoised, one ``CalendarMemo`` per app.

Why: a verdict depends on "now" only through (today, the earliest bookable minute),
and callers say the same few things ("tomorrow", "10 am"), so most requests repeat a
verdict already found; walking the calendar again costs ~40 µs, a dict lookup ~0.3 µs
(bench/README.md: repeated inputs 0.45 -> 0.73 of the bare endpoint). The memo is
bounded, belongs to one app (tests and apps never share it), holds read-only answers
(nothing in a response body can change it), and keeps no state on the calendars.

Pure parsing helpers (``spoken.parse_date``, ``parse_time``, ``windows.wall_time``,
``clock12``, ``holidays.holiday_table``) keep small ``lru_cache``s of their own: they
are functions of their arguments only, so a process-wide memo of them cannot carry
anything from one app or test into another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import TypeAlias

from flowhooks.calendar.business import BusinessCalendar
from flowhooks.calendar.verdict import Verdict, evaluate_at

MEMO_SIZE = 4096
Answer: TypeAlias = Mapping[str, object]


class CalendarMemo:
    """Bounded memo of (calendar, inputs, today, earliest) -> the answer keys."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._answers: dict[tuple[object, ...], Answer | None] = {}
        # (today, earliest) of the last whole second asked for, per calendar
        self._moments: dict[str, tuple[tuple[int, bool], tuple[date, datetime]]] = {}

    def moment(self, cal: BusinessCalendar, now: datetime) -> tuple[date, datetime]:
        """(today, earliest) for ``now``; the same for every ``now`` in one whole second.

        A moment exactly on a whole second is keyed apart from the rest of that second:
        on a minute boundary it is its own earliest minute, a microsecond later is not.
        """
        key = (int(now.timestamp()), now.microsecond == 0)
        known = self._moments.get(cal.name)
        if known is None or known[0] != key:
            known = (key, cal.today_and_earliest(now))
            self._moments[cal.name] = known
        return known[1]

    def answer(
        self,
        cal: BusinessCalendar,
        now: datetime,
        inputs: tuple[str, str | None, str | None],
        render: Callable[[Verdict], Mapping[str, object]],
    ) -> Answer | None:
        """``render(verdict)`` of the inputs (date, time, type), memoised; None: no slot."""
        today, earliest = self.moment(cal, now)
        key = (cal.name, *inputs, today, earliest)
        try:
            return self._answers[key]
        except KeyError:
            pass
        verdict = evaluate_at(cal, today, earliest, *inputs)
        found = None if verdict is None else MappingProxyType(dict(render(verdict)))
        if len(self._answers) >= self.size:
            self._answers.clear()
        self._answers[key] = found
        return found
