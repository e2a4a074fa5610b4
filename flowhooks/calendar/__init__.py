"""Business calendars: pure values and functions, no I/O (SPEC 2.1).

* ``windows``: weekdays, a day's opening window, wall times, 12-hour clock texts
* ``holidays``: public holidays by country and subdivision
* ``business``: ``BusinessCalendar``, an immutable value
* ``calendars``: the app's ``Calendars`` by name, with its memo
* ``spoken``: the dates and times a caller said
* ``verdict``: the next open slot and why a date or time is refused
* ``memo``: the one per-app memo of answers (why it exists is written there)

Times are judged in the calendar's own zone; "now" is always passed in. A window is
half-open, [open, close), in minutes of the day.
"""

from flowhooks.calendar.business import SEARCH_DAYS, BusinessCalendar, TypeHours
from flowhooks.calendar.calendars import Calendars
from flowhooks.calendar.holidays import check_country, holiday_table
from flowhooks.calendar.spoken import ParsedDate, parse_date, parse_time
from flowhooks.calendar.verdict import InvalidReason, Verdict, evaluate, evaluate_at
from flowhooks.calendar.windows import (
    WEEKDAY_NAMES,
    Window,
    format_slot_time,
    parse_weekday,
    wall_time,
)

__all__ = [
    "SEARCH_DAYS",
    "WEEKDAY_NAMES",
    "BusinessCalendar",
    "Calendars",
    "InvalidReason",
    "ParsedDate",
    "TypeHours",
    "Verdict",
    "Window",
    "check_country",
    "evaluate",
    "evaluate_at",
    "format_slot_time",
    "holiday_table",
    "parse_date",
    "parse_time",
    "parse_weekday",
    "wall_time",
]
