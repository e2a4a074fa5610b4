"""Phone numbers: E.164 normalisation, splitting, policy, time zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from flowhooks import phones


@pytest.mark.parametrize(
    "text",
    [
        "9979746666",
        "09979746666",
        "919979746666",
        "+91 99797 46666",
        "91997974 6666",
        "(+91) 99797-46666",
        "+91.99797.46666",
    ],
)
def test_one_number_in_india(text: str) -> None:
    assert phones.normalize(text, "IN") == "+919979746666"


def test_region_matters() -> None:
    assert phones.normalize("(212) 555-0100", "US") == "+12125550100"
    assert phones.normalize("+12125550100", "IN") == "+12125550100"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not_a_number"),
        ("", "not_a_number"),
        ("12", "not_a_number"),
        ("99797", "invalid"),
        ("+91 00000 00000", "invalid"),
        ("99797x46666", "not_a_number"),
    ],
)
def test_not_numbers(text: str, reason: str) -> None:
    with pytest.raises(phones.NumberRefused) as info:
        phones.normalize(text, "IN")
    assert info.value.reason == reason


def test_split_numbers() -> None:
    assert phones.split_numbers(
        "9979746666, 9979746667;9979746668|9979746669\n91997974 6670\r\n"
    ) == [
        "9979746666",
        "9979746667",
        "9979746668",
        "9979746669",
        "91997974 6670",
    ]
    assert phones.split_numbers(" , ;") == []


def test_policy() -> None:
    policy = phones.NumberPolicy.build(
        "FR", ["FR"], ["PREMIUM_RATE", "SHARED_COST", "UAN", "VOICEMAIL"]
    )
    assert policy.check("01 23 45 67 89") == "+33123456789"
    with pytest.raises(phones.NumberRefused) as info:
        policy.check("08 92 70 12 34")  # French premium rate (08xx)
    assert info.value.reason == "blocked_type"
    with pytest.raises(phones.NumberRefused) as info:
        policy.check("+12125550100")
    assert info.value.reason == "region_not_allowed"


def test_time_zone_of_a_number() -> None:
    fallback = ZoneInfo("UTC")
    assert phones.time_zone("+12125550100", fallback) == ZoneInfo("America/New_York")
    assert phones.time_zone("+14155550100", fallback) == ZoneInfo("America/Los_Angeles")
    assert phones.time_zone("+919979746666", fallback).key in ("Asia/Calcutta", "Asia/Kolkata")
    assert phones.time_zone("+79161234567", fallback) == fallback  # Russia spans zones
