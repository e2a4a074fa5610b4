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
_NUMBER = re.compile(r"\+?[0-9]{3,17}")  # ASCII digits only
MAX_SHOWN = 40  # characters of a refused number quoted back


class NumberRefused(ValueError):
    """A number that cannot be used; ``reason`` is a short code for flows and reports."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def split_numbers(text: str) -> list[str]:
    """``"a, b; c|d"`` or one per line -> the numbers, blanks dropped, order kept."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def _shown(text: str) -> str:
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…")


def _cleaned(text: str) -> str:
    """The number without its separators; NumberRefused unless it is + and 3-17 digits."""
    cleaned = _IGNORED.sub("", text)
    if not _NUMBER.fullmatch(cleaned):
        raise NumberRefused("not_a_number", f"{_shown(text)} is not a phone number")
    return cleaned


def parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    cleaned = _cleaned(text)
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        raise NumberRefused("not_a_number", f"{_shown(text)} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise NumberRefused("invalid", f"{_shown(text)} is not a valid number in {region}")
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(text: str, region: str) -> str:
    """The E.164 form of ``text`` read in ``region``; NumberRefused if it is not a number.

    Memoised on the cleaned number (at most 18 characters), never on the raw text: padding
    cannot grow the cache (65,536 entries x ~100 bytes at most).
    """
    return _normalized(_cleaned(text), region)


@lru_cache(maxsize=65536)  # parsing costs ~30 µs and callers repeat; errors are not cached
def _normalized(cleaned: str, region: str) -> str:
    return e164(parse(cleaned, region))


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
