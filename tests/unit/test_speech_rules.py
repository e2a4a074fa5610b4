"""Issue 24: how Indian and US callers say numbers, amounts and days, and the rule that a
wrong value is worse than none (the corpus measures the rest)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowhooks.speech.amounts import extract_amount
from flowhooks.speech.digits import extract_digits
from flowhooks.speech.extract import extract_date
from flowhooks.speech.normalize import words

KOLKATA = ZoneInfo("Asia/Kolkata")
TUESDAY = date(2019, 1, 8)  # the next 10 February is a Sunday


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("5 thousand", "5000"),
        ("3 million", "3000000"),
        ("two point two million", "2200000"),
        ("one twenty two", "122"),
        ("forty-five (45)", "45"),
        ("20 rupees 43", "20.43"),
        ("$20 43", "20.43"),
        ("3 CAD 3 cents", "3.03"),
        ("1 point 1", "1.1"),
        ("point 77", "0.77"),
        (".77", "0.77"),
        ("two dozen", "24"),
        ("30 lakhs", "3000000"),
        ("30 lkh", "3000000"),
        ("three hundred krores", "3000000000"),
        ("Rs20", "20"),
        ("20Rs", "20"),
        ("INR20", "20"),
        ("₹20", "20"),
    ],
)
def test_the_issues_amounts(said: str, amount: str) -> None:
    assert extract_amount(said) == amount


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("last sunday", "2019-01-06"),
        ("Sunday, Feb 10", "2019-02-10"),
        ("first tuesday of october", "2019-10-01"),
        ("14th April 15", "2015-04-14"),
        ("3 years from today", "2022-01-08"),
        ("8-12-2019", "2019-12-08"),
        ("2019-12-08", "2019-12-08"),
        ("08122019", "2019-12-08"),
        ("in a week", "2019-01-15"),
        ("on the 15th", "2019-01-15"),
        ("20th of next month", "2019-02-20"),
    ],
)
def test_the_issues_days(said: str, day: str) -> None:
    assert extract_date(said, TUESDAY, KOLKATA) == day


@pytest.mark.parametrize(
    "said",
    [
        "Sunday, Feb 11",  # the weekday contradicts the date
        "monday or tuesday",
        "between the 5th and 10th of march",
        "july 13 to 15",
        "sometime in march",
        "after the 5th",
        "on 31st february",
        "next week",
        "black friday",
    ],
)
def test_a_day_not_said_one_way_is_no_day(said: str) -> None:
    assert extract_date(said, TUESDAY, KOLKATA) == ""


@pytest.mark.parametrize(
    "said",
    [
        "500 or 600",
        "between 500 and 1000 rupees",
        "I paid 500 rupees and 200 dollars",
        "twenty dollars and fifty paise",
        "five thousand two lakh",
        "two hundred and something dollars",
        "at least $1.42",
        "under seven euros",
        "-504",
        "3M",
        "my pin is 4421",
        "call me at five thirty",
        "give me 10 minutes",
        "nine eight seven six",
    ],
)
def test_an_amount_not_said_one_way_is_no_amount(said: str) -> None:
    assert extract_amount(said) == ""


def test_paise_and_cents_make_two_decimals_and_plain_amounts_stay_plain() -> None:
    assert extract_amount("rupees five hundred and fifty paise") == "500.50"
    assert extract_amount("fifty paise") == "0.50"
    assert extract_amount("rs 10.5") == "10.50"
    assert extract_amount("twenty point five") == "20.5"
    assert extract_amount("2.5 crore") == "25000000"


def test_digits_are_one_run_and_not_amounts_days_times_or_counts() -> None:
    assert extract_digits("my pin is 4421 and I want to pay 500 rupees") == "4421"
    assert extract_digits("send 2000 rupees to nine eight seven six") == "9876"
    assert extract_digits("twenty fifth december 2026") == ""
    assert extract_digits("my last four digits are three nine two one") == "3921"
    assert extract_digits("call me at 5 pm") == ""
    assert extract_digits("forty-five (45)") == "45"
    assert extract_digits("pay 500 now, my number is 98450 12345") == "9845012345"
    assert extract_digits("1234 or 5678") == ""


def test_the_normaliser_keeps_what_punctuation_means_in_numbers_and_days() -> None:
    assert words("8-12-2019, 2019-12-08 and 25/12") == ("8-12-2019", "2019-12-08", "and", "25/12")
    assert words("₹2.5L, Rs.20 or .77") == ("₹", "2.5", "l", "rs", "20", "or", ".77")
    assert words("98160-71234 at 10:30am") == ("98160", "71234", "at", "10:30", "am")


@pytest.mark.parametrize(
    ("said", "today", "zone"),
    [
        ("9999-12-31T23:00:00-10:00", date(9999, 12, 31), "Asia/Kolkata"),
        ("0001-01-01T00:00:00+10:00", date(1, 1, 1), "America/Adak"),
        ("tomorrow", date(9999, 12, 31), "Pacific/Kiritimati"),
        ("3 years from today", date(9998, 6, 1), "Asia/Kolkata"),
        ("yesterday", date(1, 1, 1), "Etc/GMT+12"),
        ("a week ago", date(1, 1, 3), "Asia/Kolkata"),
        ("in 99999999999999999999 days", date(2026, 11, 23), "Asia/Kolkata"),
        ("in 99999999999999 months", date(2026, 11, 23), "Asia/Kolkata"),
        ("first monday of next month", date(9999, 12, 20), "Asia/Kolkata"),
        ("the 15th", date(9999, 12, 20), "Asia/Kolkata"),
        ("25th december", date(9999, 12, 26), "Asia/Kolkata"),
        ("last friday", date(1, 1, 2), "Asia/Kolkata"),
    ],
)
def test_days_past_the_ends_of_time_are_no_day_never_an_error(
    said: str, today: date, zone: str
) -> None:
    assert extract_date(said, today, ZoneInfo(zone)) == ""


_SAID = st.sampled_from(
    "one two twenty five hundred thousand lakh crore point and a half dozen rupees $ ₹ "
    "paise cents 5 20 2.5 .77 15th 2019 08122019 8-12-2019 9999-12-31T23:00:00-10:00 "
    "december monday next last this in from ago days weeks years today tomorrow the of "
    "not or to - at pm my pin is".split()
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(_SAID, max_size=12).map(" ".join),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(["Asia/Kolkata", "Pacific/Kiritimati", "Etc/GMT+12", "UTC"]),
)
def test_any_sentence_on_any_day_answers_a_value_or_nothing(
    said: str, today: date, zone: str
) -> None:
    day = extract_date(said, today, ZoneInfo(zone))
    assert day == "" or date.fromisoformat(day)
    amount = extract_amount(said)
    assert amount == "" or float(amount) >= 0
    assert extract_digits(said).isdigit() or extract_digits(said) == ""
