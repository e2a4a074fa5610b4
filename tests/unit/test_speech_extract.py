"""The handler's one call over the local extractors."""

from datetime import date
from zoneinfo import ZoneInfo

from flowhooks.speech.extract import extract, extract_date

ZONE = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 11, 21)  # a Saturday
ALL = frozenset({"intent", "yes_no", "digits", "date", "amount"})


def test_every_output_when_all_are_wanted() -> None:
    text = "yes, on monday, pay two thousand from nine eight double seven"
    got = extract(text, ALL, TODAY, ZONE)
    assert got == ("yes on monday pay 2000 from 9 8 double 7", "yes", "9877", "2000", "2026-11-23")


def test_only_the_wanted_output_is_filled() -> None:
    got = extract("yes nine eight", frozenset({"digits"}), TODAY, ZONE)
    assert got == ("yes 9 8", "", "98", "", "")


def test_days_in_a_sentence_and_bare_numbers_that_are_not_days() -> None:
    assert extract_date("call me on the 25th of december please", TODAY, ZONE) == "2026-12-25"
    assert extract_date("the day after tomorrow", TODAY, ZONE) == "2026-11-23"
    assert extract_date("next friday at 5", TODAY, ZONE) == "2026-11-27"
    assert extract_date("my pin is 2512 2026", TODAY, ZONE) == ""  # digits alone: a number
    assert extract_date("25 12 2026", TODAY, ZONE) == ""
    assert extract_date("i want to talk to someone", TODAY, ZONE) == ""


def test_a_negated_day_is_not_the_day_and_two_days_are_none() -> None:
    assert extract_date("not monday but tuesday", TODAY, ZONE) == "2026-11-24"
    assert extract_date("monday or tuesday", TODAY, ZONE) == ""
    assert extract_date("tomorrow, that's the 22nd", TODAY, ZONE) == "2026-11-22"
