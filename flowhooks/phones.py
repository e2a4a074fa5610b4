"""Phone numbers: E.164 normalisation and per-client number policy (phonenumbers).

``9979746666``, ``09979746666``, ``919979746666`` and ``+91 99797 46666`` are one
number in region IN: ``+919979746666``. Spaces, dashes, dots and brackets inside
a number are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

_SEPARATORS = re.compile(r"[,;|\n\r]+")
_IGNORED = re.compile(r"[\s\-.()\[\]]")


class NumberRefused(ValueError):
    """A number that cannot be used; ``reason`` is a short code for flows and reports."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def split_numbers(text: str) -> list[str]:
    """``"a, b; c|d"`` or one per line -> the numbers, blanks dropped, order kept."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    cleaned = _IGNORED.sub("", text)
    if not cleaned or not re.fullmatch(r"\+?\d{3,17}", cleaned):
        raise NumberRefused("not_a_number", f"{text!r} is not a phone number")
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        raise NumberRefused("not_a_number", f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise NumberRefused("invalid", f"{text!r} is not a valid number in {region}")
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def normalize(text: str, region: str) -> str:
    """The E.164 form of ``text`` read in ``region``; NumberRefused if it is not a number.

    Memoised: parsing costs ~30 µs and callers repeat (an exception is not cached).
    """
    return e164(parse(text, region))


@dataclass(frozen=True)
class NumberPolicy:
    """What a client may dial: its regions, and the number types it blocks."""

    default_region: str
    allowed_regions: frozenset[str]
    blocked_types: frozenset[int]

    @classmethod
    def build(
        cls, default_region: str, regions: Iterable[str], blocked: Iterable[str]
    ) -> NumberPolicy:
        types = frozenset(getattr(phonenumbers.PhoneNumberType, name) for name in blocked)
        return cls(default_region, frozenset(regions), types)

    def check(self, text: str) -> str:
        """E.164 of an allowed number; NumberRefused naming why not."""
        number = parse(text, self.default_region)
        region = phonenumbers.region_code_for_number(number)
        if region not in self.allowed_regions:
            raise NumberRefused("region_not_allowed", f"{region} numbers are not allowed")
        kind = phonenumbers.number_type(number)
        if kind in self.blocked_types:
            name = next(
                k
                for k, v in vars(phonenumbers.PhoneNumberType).items()
                if k.isupper() and v == kind
            )
            raise NumberRefused("blocked_type", f"{name.lower()} numbers are blocked")
        return e164(number)


def time_zone(number_e164: str, fallback: ZoneInfo) -> ZoneInfo:
    """The number's own zone; ``fallback`` where it spans several or none is known."""
    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(number_e164))
    except phonenumbers.NumberParseException:
        return fallback
    if len(zones) != 1 or zones[0] == pn_timezone.UNKNOWN_TIMEZONE:
        return fallback
    try:
        return ZoneInfo(zones[0])
    except ZoneInfoNotFoundError:
        return fallback
