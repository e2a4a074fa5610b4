"""The validateDateTime algorithm of SPEC 2.1, on pure calendar objects (no server)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowhooks import calendar as cal
from flowhooks.calendar import InvalidReason as R
from flowhooks.calendar.memo import CalendarMemo
from tests.conftest import load_config, settings_from

IST = ZoneInfo("Asia/Kolkata")
NY = ZoneInfo("America/New_York")
SAT = datetime(2019, 12, 7, 10, 0, tzinfo=IST)

CONF = load_config("calendars.toml")
DEFAULT = CONF.calendars["default"].build("default")
US = CONF.calendars["us"].build("us")


def ev(
    c: cal.BusinessCalendar, now: datetime, d: str, t: str | None = None, typ: str | None = None
) -> cal.Verdict:
    v = cal.evaluate(c, now, d, t, typ)
    assert v is not None
    return v


def iso(v: cal.Verdict) -> str:
    return v.slot.isoformat(timespec="seconds")


@pytest.mark.parametrize(
    ("d", "t", "typ", "out", "date_ok", "time_ok", "reason"),
    [
        ("09122019", "1030", None, "2019-12-09T10:30:00+05:30", True, True, R.NONE),
        ("08-12-2019", "10:30", None, "2019-12-09T10:30:00+05:30", False, True, R.NON_WORKING_DAY),
        ("tomorrow", None, None, "2019-12-09T09:00:00+05:30", False, False, R.NON_WORKING_DAY),
        ("9 december", "7 pm", None, "2019-12-09T09:00:00+05:30", True, False, R.OUTSIDE_HOURS),
        ("9 december", "7 pm", "Callback", "2019-12-09T19:00:00+05:30", True, True, R.NONE),
        ("07122019", "09:30", None, "2019-12-07T10:00:00+05:30", True, False, R.PAST),
        ("25-12-2019", "11:00", None, "2019-12-26T11:00:00+05:30", False, True, R.HOLIDAY),
        ("32-13-2019", None, None, "2019-12-07T10:00:00+05:30", False, False, R.UNPARSEABLE),
        ("15-02-2020", None, None, "2019-12-07T10:00:00+05:30", False, False, R.TOO_FAR),
    ],
)
def test_spec_worked_examples(
    d: str, t: str | None, typ: str | None, out: str, date_ok: bool, time_ok: bool, reason: R
) -> None:
    v = ev(DEFAULT, SAT, d, t, typ)
    assert (iso(v), v.date_is_valid, v.time_is_valid, v.reason) == (out, date_ok, time_ok, reason)


def test_holiday_outputs() -> None:
    v = ev(DEFAULT, SAT, "25-12-2019", "11:00")
    assert v.holiday_name == "Christmas"
    assert v.window.text() == "09:00 AM to 06:00 PM"
    assert v.slot.weekday() == 3


def test_past_date_searches_from_today_and_names_no_holiday() -> None:
    v = ev(DEFAULT, SAT, "01-12-2019", "11:00")
    assert (v.reason, v.date_is_valid, v.holiday_name) == (R.PAST, False, "")
    assert iso(v) == "2019-12-07T11:00:00+05:30"
    assert v.time_is_valid is False  # the requested date+time is gone by


def test_unparseable_time_on_a_valid_date_is_outside_hours() -> None:
    v = ev(DEFAULT, SAT, "09122019", "25:99")
    assert (v.date_is_valid, v.time_is_valid, v.reason) == (True, False, R.OUTSIDE_HOURS)
    assert iso(v) == "2019-12-09T09:00:00+05:30"


def test_no_time_leaves_reason_alone() -> None:
    v = ev(DEFAULT, SAT, "09122019")
    assert (v.date_is_valid, v.time_is_valid, v.reason) == (True, False, R.NONE)


def test_iso_time_is_used_as_the_time() -> None:
    v = ev(DEFAULT, SAT, "2019-12-09T10:30:00+05:30")
    assert (iso(v), v.time_is_valid) == ("2019-12-09T10:30:00+05:30", True)


def test_time_at_closing_is_outside_half_open_window() -> None:
    v = ev(DEFAULT, SAT, "09122019", "18:00")
    assert (v.time_is_valid, v.reason) == (False, R.OUTSIDE_HOURS)
    assert ev(DEFAULT, SAT, "09122019", "17:59").time_is_valid


def test_max_days_ahead_boundary_day() -> None:
    # today + 30 = Mon 2020-01-06 (working); +31 is too far
    v = ev(DEFAULT, SAT, "06-01-2020", "10:00")
    assert (v.date_is_valid, iso(v)) == (True, "2020-01-06T10:00:00+05:30")
    v = ev(DEFAULT, SAT, "07-01-2020", "10:00")
    assert (v.date_is_valid, v.reason, iso(v)) == (False, R.TOO_FAR, "2019-12-07T10:00:00+05:30")


def test_today_after_closing_moves_to_next_working_day() -> None:
    late = datetime(2019, 12, 6, 18, 0, tzinfo=IST)  # Friday at closing time
    v = ev(DEFAULT, late, "today", "10:00")
    assert (v.date_is_valid, v.time_is_valid, v.reason) == (True, False, R.PAST)
    assert iso(v) == "2019-12-07T10:00:00+05:30"  # Saturday is worked; 10:00 is in its window


# -- the US calendar: America/New_York, US-CA holidays, DST, lead time ---------


def test_dst_change_gives_the_new_offset() -> None:
    fri = datetime(2026, 3, 6, 10, 0, tzinfo=NY)  # EST, -05:00
    v = ev(US, fri, "09-03-2026", "10:30")  # Monday after the switch to EDT
    assert (iso(v), v.date_is_valid, v.time_is_valid) == ("2026-03-09T10:30:00-04:00", True, True)


def test_lead_time_is_absolute_across_the_dst_change() -> None:
    fri = datetime(2026, 3, 6, 12, 0, tzinfo=NY)  # Fri window 09-13; lead 90 -> 13:30
    v = ev(US, fri, "today", "12:45")
    assert (v.date_is_valid, v.time_is_valid, v.reason) == (True, False, R.PAST)
    assert iso(v) == "2026-03-09T12:45:00-04:00"  # next working day keeps the asked time
    # 01:00 EST + 90 min of real time = 03:30 EDT: the clocks skipped 02:00-03:00
    sun = datetime(2026, 3, 8, 1, 0, tzinfo=NY)
    assert US.earliest(sun).isoformat() == "2026-03-08T03:30:00-04:00"


def test_lead_rounds_up_to_the_minute() -> None:
    mon = datetime(2026, 3, 9, 8, 0, 30, tzinfo=NY)
    v = ev(US, mon, "09-03-2026", "09:00")
    assert (v.time_is_valid, v.reason, iso(v)) == (False, R.PAST, "2026-03-09T09:31:00-04:00")


def test_fall_back_day() -> None:
    fri = datetime(2026, 10, 30, 9, 0, tzinfo=NY)  # EDT; DST ends Sunday Nov 1
    assert iso(ev(US, fri, "02-11-2026", "9 am")) == "2026-11-02T09:00:00-05:00"


def test_time_in_spring_forward_gap_moves_forward() -> None:
    c = cal.BusinessCalendar("all", NY, workdays=frozenset(range(7)), hours=cal.Window(0, 1440))
    v = ev(c, datetime(2026, 3, 7, 12, 0, tzinfo=NY), "08-03-2026", "02:30")
    assert iso(v) == "2026-03-08T03:30:00-04:00"


def test_subdivision_holiday() -> None:
    ca = cal.BusinessCalendar("ca", NY, country="US", subdivision="CA")
    federal = cal.BusinessCalendar("us", NY, country="US")
    now = datetime(2026, 3, 20, 9, 0, tzinfo=NY)
    v = ev(ca, now, "31-03-2026", "10:00")
    assert (v.reason, v.holiday_name, iso(v)) == (
        R.HOLIDAY,
        "Cesar Chavez Day",
        "2026-04-01T10:00:00-04:00",
    )
    assert ev(federal, now, "31-03-2026", "10:00").date_is_valid


def test_working_days_override_a_holiday() -> None:
    now = datetime(2026, 3, 20, 9, 0, tzinfo=NY)
    v = ev(US, now, "31-03-2026", "10:00")  # Cesar Chavez Day, but listed in working_days
    assert (v.date_is_valid, v.reason, v.holiday_name) == (True, R.NONE, "")


def test_extra_holiday() -> None:
    now = datetime(2026, 3, 9, 8, 0, tzinfo=NY)
    v = ev(US, now, "12-03-2026", "10:00")
    assert (v.reason, v.holiday_name) == (R.HOLIDAY, "Company offsite")
    assert iso(v) == "2026-03-13T10:00:00-04:00"


def test_day_hours_override_and_type_day_hours() -> None:
    now = datetime(2026, 3, 9, 8, 0, tzinfo=NY)
    v = ev(US, now, "13-03-2026", "14:00")  # Friday: 09:00-13:00
    assert (v.reason, v.window.text(), iso(v)) == (
        R.OUTSIDE_HOURS,
        "09:00 AM to 01:00 PM",
        "2026-03-13T09:00:00-04:00",
    )
    v = ev(US, now, "13-03-2026", "11:00", "Callback")  # Callback Friday: 10:00-12:00
    assert (v.time_is_valid, v.window.text()) == (True, "10:00 AM to 12:00 PM")
    v = ev(US, now, "11-03-2026", "19:00", "Callback")  # Callback other days: 08:00-20:00
    assert (v.time_is_valid, v.window.text()) == (True, "08:00 AM to 08:00 PM")


def test_weekend_holiday_reports_holiday_first() -> None:
    # 2026-07-04 is a Saturday (not a US workday) and Independence Day
    v = ev(US, datetime(2026, 7, 1, 9, 0, tzinfo=NY), "04-07-2026")
    assert (v.reason, v.holiday_name) == (R.HOLIDAY, "Independence Day")


def test_no_working_date_within_366_days() -> None:
    closed = cal.BusinessCalendar("closed", IST, workdays=frozenset())
    assert cal.evaluate(closed, SAT, "today") is None


def test_holiday_tables_are_cached_per_country_subdivision_year() -> None:
    cal.holiday_table.cache_clear()
    US.warm(date(2026, 3, 1))
    info = cal.holiday_table.cache_info()
    assert info.currsize == len(list(US.years_to_warm(date(2026, 3, 1))))
    ev(US, datetime(2026, 3, 9, 8, 0, tzinfo=NY), "12-03-2026", "10:00")
    assert cal.holiday_table.cache_info().misses == info.misses  # no rebuild on a request


def test_next_open_moment_for_outbound() -> None:
    calling = (
        settings_from(
            '[calendars.calling]\ntimezone = "Asia/Kolkata"\nhours = "09:00-21:00"\n'
            'workdays = ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]\n'
        )
        .calendars["calling"]
        .build("calling")
    )
    inside = datetime(2019, 12, 7, 10, 0, 5, tzinfo=IST)
    assert calling.next_open_moment(inside) == inside
    night = datetime(2019, 12, 7, 22, 0, tzinfo=IST)
    assert calling.next_open_moment(night) == datetime(2019, 12, 8, 9, 0, tzinfo=IST)
    early = datetime(2019, 12, 7, 7, 0, tzinfo=IST)
    assert calling.next_open_moment(early) == early.replace(hour=9) + timedelta(0)


def test_today_is_the_clocks_day_even_when_earliest_rounds_into_tomorrow() -> None:
    late = datetime(2019, 12, 9, 23, 59, 30, tzinfo=IST)  # Monday; earliest rounds to Tue 00:00
    v = ev(DEFAULT, late, "today")
    assert (v.date_is_valid, v.reason) == (True, cal.InvalidReason.NONE)  # today is Monday
    assert iso(v) == "2019-12-10T09:00:00+05:30"


def test_moment_is_exact_on_a_minute_and_just_after_it() -> None:
    """(today, earliest) is shared within a second, but not with the second's first instant."""
    c = cal.BusinessCalendar("m", IST, min_lead_minutes=0)
    memo = CalendarMemo()
    on = datetime(2019, 12, 9, 23, 59, 0, tzinfo=IST)
    after = on + timedelta(microseconds=1)
    later = on + timedelta(microseconds=999_999)
    assert memo.moment(c, on) == (date(2019, 12, 9), on)
    assert memo.moment(c, after) == (date(2019, 12, 9), on + timedelta(minutes=1))
    assert memo.moment(c, later) == (date(2019, 12, 9), on + timedelta(minutes=1))
    assert memo.moment(c, on) == (date(2019, 12, 9), on)  # asked again after the others
    midnight = datetime(2019, 12, 10, 0, 0, tzinfo=IST)
    assert memo.moment(c, midnight - timedelta(microseconds=1)) == (date(2019, 12, 9), midnight)
    assert memo.moment(c, midnight) == (date(2019, 12, 10), midnight)


@pytest.mark.parametrize("micro", [0, 1, 250_000, 999_999])
def test_moment_matches_the_direct_computation(micro: int) -> None:
    memo = CalendarMemo()
    for second in range(0, 120, 7):
        now = datetime(2026, 3, 8, 1, 59, tzinfo=NY) + timedelta(seconds=second, microseconds=micro)
        assert memo.moment(US, now) == (now.astimezone(NY).date(), US.earliest(now))


def test_the_memo_answers_what_evaluate_answers_and_is_read_only() -> None:
    memo = CalendarMemo(size=2)
    c = cal.BusinessCalendar("m", IST, hours=cal.Window(9 * 60, 18 * 60))
    now = datetime(2019, 12, 9, 10, 0, tzinfo=IST)

    def render(v: cal.Verdict) -> dict[str, object]:
        return {"slot": v.slot.isoformat(), "reason": v.reason.value}

    for text in ("tomorrow", "10-12-2019", "25-12-2019", "tomorrow"):
        found = memo.answer(c, now, (text, "1030", None), render)
        direct = cal.evaluate(c, now, text, "1030")
        assert found is not None and direct is not None
        assert dict(found) == render(direct)
        with pytest.raises(TypeError):
            found["slot"] = "changed"  # type: ignore[index]
    assert len(memo._answers) <= 2  # bounded


def test_a_calendar_is_a_value_without_memo_state() -> None:
    c = cal.BusinessCalendar("m", IST, extra_holidays={date(2019, 12, 25): "X"})
    with pytest.raises(TypeError):
        c.extra_holidays[date(2019, 12, 26)] = "Y"  # type: ignore[index]
    assert set(vars(c)) <= {f.name for f in dataclasses.fields(c)}


# -- issue 22: dates near the ends of time, with a time, in any zone ----------------

ZONES = ["Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Honolulu", "Etc/GMT+12"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    ("d", "reason"),
    [
        ("0001-01-01", R.PAST),
        ("01010001", R.PAST),
        ("1 January 0001", R.PAST),
        ("0001-01-01T00:00:00+10:00", R.PAST),
        ("0001-01-01T00:00:00+14:00", R.PAST),
        ("9999-12-31", R.TOO_FAR),
        ("31129999", R.TOO_FAR),
        ("9999-12-31T23:00:00-10:00", R.TOO_FAR),
        ("9999-12-31T23:59:59-12:00", R.TOO_FAR),
        ("9999-12-30T23:00:00-14:00", R.TOO_FAR),
        ("9999-12-29T23:59:00-23:59", R.TOO_FAR),
        ("0001-01-02T00:00:00+23:59", R.PAST),
        ("0001-01-03T00:00:00+23:59", R.PAST),
    ],
)
@pytest.mark.parametrize("t", [None, "01:00", "23:59"])
def test_dates_at_the_ends_of_time_are_past_or_too_far_in_any_zone(
    zone: str, d: str, reason: R, t: str | None
) -> None:
    c = dataclasses.replace(DEFAULT, timezone=ZoneInfo(zone), hours=cal.Window(0, 24 * 60))
    now = datetime(2026, 11, 23, 12, 0, tzinfo=IST)
    v = ev(c, now, d, t)
    assert (v.date_is_valid, v.reason) == (False, reason)
    assert v.slot >= now  # the slot is searched from today
    if t is not None:  # judged on the output date: a year-1 date and time is before now
        assert v.time_is_valid is (reason is R.TOO_FAR)


def test_no_clock_lets_a_caller_date_leave_the_representable_range() -> None:
    """At the clock's own ends (1971 and 8999, as X-Flowhooks-Now allows) too."""
    for now in (
        datetime(1971, 1, 1, tzinfo=ZoneInfo("Etc/GMT-14")),
        datetime(8999, 12, 31, 23, 59, tzinfo=ZoneInfo("Etc/GMT+12")),
    ):
        for zone in ZONES:
            c = dataclasses.replace(DEFAULT, timezone=ZoneInfo(zone), country=None)
            for d in ("0001-01-01", "9999-12-31T23:00:00-10:00", "today", "31129999"):
                assert ev(c, now, d, "01:00").slot >= now


def test_a_year_the_holiday_library_has_only_in_part_is_no_warning() -> None:
    """India's tables warn outside 2001-2035; under ``filterwarnings = error`` (and in a
    served app's stderr) that was an error for a caller asking about 1985."""
    assert cal.holiday_table("IN", None, 1985) is not None
