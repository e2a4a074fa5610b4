"""The verdict of SPEC 2.1: the next open slot and why a requested date or time is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from flowhooks.calendar.business import BusinessCalendar
from flowhooks.calendar.spoken import parse_date, parse_time
from flowhooks.calendar.windows import Window, in_bounds


class InvalidReason(StrEnum):
    """Why a requested date or time was refused (the first that applies)."""

    NONE = ""
    UNPARSEABLE = "unparseable"  # the date text could not be read
    PAST = "past"  # before today, or the time is before the earliest bookable minute
    TOO_FAR = "too_far"  # after today + max_days_ahead
    HOLIDAY = "holiday"  # a public or extra holiday that is not worked
    NON_WORKING_DAY = "non_working_day"  # a weekday outside workdays
    OUTSIDE_HOURS = "outside_hours"  # the time is outside the day's window (or unreadable)


@dataclass(frozen=True)
class Verdict:
    """Everything validateDateTime answers, before it is turned into flow keys."""

    slot: datetime
    window: Window
    date_is_valid: bool
    time_is_valid: bool
    reason: InvalidReason
    holiday_name: str


def _date_reason(cal: BusinessCalendar, d: date, today: date) -> InvalidReason:
    if d < today:
        return InvalidReason.PAST
    if d > today + timedelta(days=cal.max_days_ahead):
        return InvalidReason.TOO_FAR
    if cal.is_working(d):
        return InvalidReason.NONE
    if cal.holiday_name(d) is not None:
        return InvalidReason.HOLIDAY
    return InvalidReason.NON_WORKING_DAY


def evaluate(
    cal: BusinessCalendar,
    now: datetime,
    input_date: str,
    input_time: str | None = None,
    type_name: str | None = None,
) -> Verdict | None:
    """The algorithm of SPEC 2.1; None when no working date lies within 366 days."""
    today, earliest = cal.today_and_earliest(now)
    return evaluate_at(cal, today, earliest, input_date, input_time, type_name)


def evaluate_at(
    cal: BusinessCalendar,
    today: date,
    earliest: datetime,
    input_date: str,
    input_time: str | None,
    type_name: str | None,
) -> Verdict | None:
    tz = cal.timezone
    parsed = parse_date(input_date, today, tz)
    wanted: time | None = None
    if input_time is not None and input_time.strip():
        wanted = parse_time(input_time)
        time_given = True
    else:
        time_given = False
    if parsed is not None and wanted is None and not time_given:
        wanted = parsed.time
        time_given = parsed.time is not None

    if parsed is None:
        reason, holiday = InvalidReason.UNPARSEABLE, ""
    else:
        reason = _date_reason(cal, parsed.date, today)
        name = cal.holiday_name(parsed.date)
        holiday = name if name is not None and not cal.is_working(parsed.date) else ""
    date_ok = reason is InvalidReason.NONE
    in_range = parsed is not None and reason not in (InvalidReason.PAST, InvalidReason.TOO_FAR)
    start = parsed.date if parsed is not None and in_range else today

    slot = cal.next_slot(start, earliest, wanted, type_name)
    if slot is None:
        return None
    judged_day = parsed.date if date_ok and parsed is not None else slot.date()
    window = cal.window(judged_day, type_name)

    time_ok = False
    if wanted is not None:
        requested_day = parsed.date if parsed is not None else judged_day
        if in_bounds(requested_day):
            too_early = cal.at(requested_day, wanted) < earliest
        else:  # a day at the ends of time has no instant; it is past or too far
            too_early = requested_day < today
        time_ok = not too_early and window.contains(wanted)
        if date_ok and not time_ok:
            reason = InvalidReason.PAST if too_early else InvalidReason.OUTSIDE_HOURS
    elif time_given and date_ok:
        reason = InvalidReason.OUTSIDE_HOURS
    return Verdict(
        slot=slot,
        window=cal.window(slot.date(), type_name),
        date_is_valid=date_ok,
        time_is_valid=time_ok,
        reason=reason,
        holiday_name=holiday,
    )
