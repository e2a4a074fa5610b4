"""Every local extractor over one text, in one call the handler can memoise."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

from flowhooks.speech.amounts import extract_amount
from flowhooks.speech.dates import extract_date
from flowhooks.speech.digits import extract_digits
from flowhooks.speech.normalize import MEMO_CHARS, normalize
from flowhooks.speech.yesno import extract_yes_no

Extracted = tuple[str, str, str, str, str]  # normalizedText, yesNo, digits, amount, date


def extract(text: str, want: frozenset[str], today: date, zone: ZoneInfo) -> Extracted:
    """What ``want`` names of yes_no, digits, amount and date ("" for the rest)."""
    if len(text) > MEMO_CHARS:  # long texts are not memoised: the cache stays small
        return _extract.__wrapped__(text, want, today, zone)
    return _extract(text, want, today, zone)


@lru_cache(maxsize=4096)  # recognisers hand back the same few answers; a hit saves ~20 µs
def _extract(text: str, want: frozenset[str], today: date, zone: ZoneInfo) -> Extracted:
    return (
        normalize(text),
        extract_yes_no(text) if "yes_no" in want else "",
        extract_digits(text) if "digits" in want else "",
        extract_amount(text) if "amount" in want else "",
        extract_date(text, today, zone) if "date" in want else "",
    )
