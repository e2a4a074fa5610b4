"""A calendar's month and its next slots, as the console's calendar page shows them."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flowhooks.calendar import BusinessCalendar, TypeHours, Window
from flowhooks.calendar.month import month_days, next_slots

IST = ZoneInfo("Asia/Kolkata")
CAL = BusinessCalendar(
    name="t",
    timezone=IST,
    country="IN",
    extra_holidays={date(2026, 11, 27): "Founders' day"},
    workdays=frozenset(range(6)),
    day_hours={5: Window(10 * 60, 14 * 60)},
    max_days_ahead=10,
    types={"Callback": TypeHours(hours=Window(8 * 60, 20 * 60))},
)


def test_a_month_names_holidays_and_each_days_window() -> None:
    days = {d.day: d for d in month_days(CAL, 2026, 11)}
    assert len(days) == 30
    assert days[date(2026, 11, 27)].holiday == "Founders' day"
    assert not days[date(2026, 11, 27)].working and days[date(2026, 11, 27)].window is None
    assert not days[date(2026, 11, 29)].working and days[date(2026, 11, 29)].holiday is None
    assert days[date(2026, 11, 28)].window == Window(10 * 60, 14 * 60)  # a Saturday
    assert days[date(2026, 11, 23)].window == Window(9 * 60, 18 * 60)
    typed = {d.day: d for d in month_days(CAL, 2026, 11, "Callback")}
    assert typed[date(2026, 11, 23)].window == Window(8 * 60, 20 * 60)


def test_the_next_slots_skip_closed_days_and_stop_at_max_days_ahead() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=IST)  # a Monday, open
    slots = next_slots(CAL, now, 5)
    assert slots[0] == now
    assert [s.date() for s in slots[1:]] == [date(2026, 11, d) for d in (25, 26, 28, 30)]
    assert [s.time() for s in slots[1:]] == [time(9), time(9), time(10), time(9)]
    assert len(next_slots(CAL, now, 50)) == 8  # to Dec 3 (today + 10), not beyond
    evening = datetime(2026, 11, 23, 19, 0, tzinfo=IST)
    assert next_slots(CAL, evening, 1, "Callback") == [evening]
