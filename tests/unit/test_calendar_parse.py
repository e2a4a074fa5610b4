"""Every inputDate and inputTime form of SPEC 2.1, and malformed input."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from flowhooks.calendar import ParsedDate, Window, parse_date, parse_time, parse_weekday

IST = ZoneInfo("Asia/Kolkata")
TODAY = date(2019, 12, 7)  # a Saturday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08122019", date(2019, 12, 8)),  # DDMMYYYY
        ("081219", date(2019, 12, 8)),  # DDMMYY -> 20YY
        ("0812", date(2019, 12, 8)),  # DDMM this year
        ("0512", date(2020, 12, 5)),  # DDMM already past -> next year
        ("8", date(2019, 12, 8)),  # day of this month
        ("07", date(2019, 12, 7)),  # today counts as not past
        ("5", date(2020, 1, 5)),  # already past -> next month
        ("8-12-2019", date(2019, 12, 8)),
        ("8/12/2019", date(2019, 12, 8)),
        ("8.12.19", date(2019, 12, 8)),
        ("08 - 12 - 2019", date(2019, 12, 8)),
        ("8-12", date(2019, 12, 8)),  # no year: this year
        ("1/1", date(2020, 1, 1)),  # no year, past: next year
        ("2019-12-08", date(2019, 12, 8)),
        ("today", date(2019, 12, 7)),
        ("TOMORROW", date(2019, 12, 8)),
        ("day after tomorrow", date(2019, 12, 9)),
        ("  Day   After  Tomorrow ", date(2019, 12, 9)),
        ("monday", date(2019, 12, 9)),
        ("next monday", date(2019, 12, 9)),
        ("saturday", date(2019, 12, 14)),  # the first such day *after* today
        ("next Sat", date(2019, 12, 14)),
        ("8 December", date(2019, 12, 8)),
        ("8th Dec 2019", date(2019, 12, 8)),
        ("December 8", date(2019, 12, 8)),
        ("dec 8th", date(2019, 12, 8)),
        ("December 8, 2020", date(2020, 12, 8)),
        ("1st jan", date(2020, 1, 1)),  # no year, past -> next year
        ("3 sept", date(2020, 9, 3)),
        ("22nd of March", date(2020, 3, 22)),
    ],
)
def test_date_forms(text: str, expected: date) -> None:
    parsed = parse_date(text, TODAY, IST)
    assert parsed is not None, text
    assert parsed.date == expected
    assert parsed.time is None


def test_iso_with_time_carries_the_time_in_the_calendar_zone() -> None:
    assert parse_date("2019-12-08T10:30:00+05:30", TODAY, IST) == ParsedDate(
        date(2019, 12, 8), time(10, 30)
    )
    # 05:00 UTC is 10:30 in Kolkata
    assert parse_date("2019-12-08T05:00:00Z", TODAY, IST) == ParsedDate(
        date(2019, 12, 8), time(10, 30)
    )
    assert parse_date("2019-12-08t09:15", TODAY, IST) == ParsedDate(date(2019, 12, 8), time(9, 15))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "32-13-2019",
        "31022020",  # 31 February
        "310219",
        "1313",  # DDMM with month 13
        "123",
        "1234567",
        "123456789",
        "00",
        "2019-13-01",
        "2019-12-08T25:00",
        "funday",
        "8 smarch",
        "next",
        "8-12-20199",
        "tomorrow please",
    ],
)
def test_malformed_dates(text: str) -> None:
    assert parse_date(text, TODAY, IST) is None


def test_day_missing_from_this_month_rolls_to_next() -> None:
    assert parse_date("31", date(2026, 11, 21), IST) == ParsedDate(date(2026, 12, 31))
    assert parse_date("3", date(2026, 12, 21), IST) == ParsedDate(date(2027, 1, 3))


def test_feb_29_without_year_skips_to_a_leap_year_only_when_next_year_has_it() -> None:
    assert parse_date("2902", date(2019, 12, 7), IST) == ParsedDate(date(2020, 2, 29))
    assert parse_date("2902", date(2020, 3, 1), IST) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:30", time(10, 30)),
        ("1030", time(10, 30)),
        ("930", time(9, 30)),
        ("10", time(10, 0)),
        ("0", time(0, 0)),
        ("10:30 am", time(10, 30)),
        ("10:30AM", time(10, 30)),
        ("5 pm", time(17, 0)),
        ("5pm", time(17, 0)),
        ("5:30 p.m.", time(17, 30)),
        ("5.30 pm", time(17, 30)),
        ("12 am", time(0, 0)),
        ("12 pm", time(12, 0)),
        ("17:00", time(17, 0)),
        ("17:00:00", time(17, 0)),
        (" 7 PM ", time(19, 0)),
    ],
)
def test_time_forms(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["", "25:00", "10:60", "2460", "13 pm", "0 am", "abc", "10:3", "12345", "5 pmx", "-1"]
)
def test_malformed_times(text: str) -> None:
    assert parse_time(text) is None


def test_window_parse_and_text() -> None:
    w = Window.parse("09:00-18:00")
    assert (w.open, w.close) == (540, 1080)
    assert w.text() == "09:00 AM to 06:00 PM"
    assert w.contains(time(9, 0)) and w.contains(time(17, 59))
    assert not w.contains(time(18, 0))  # half-open
    assert Window.parse("00:00-24:00").text() == "12:00 AM to 12:00 AM"
    assert Window.parse("12:00-12:30").text() == "12:00 PM to 12:30 PM"


@pytest.mark.parametrize(
    "text", ["9-18", "18:00-09:00", "09:00-09:00", "25:00-26:00", "09:61-10:00"]
)
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError):
        Window.parse(text)


def test_weekday_names() -> None:
    assert parse_weekday("Mon") == 0
    assert parse_weekday("sunday") == 6
    with pytest.raises(ValueError, match="Funday"):
        parse_weekday("Funday")
