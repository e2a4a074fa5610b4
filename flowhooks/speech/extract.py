"""Every local extractor over one text, in one call the handler can memoise."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

from flowhooks.speech.amounts import amount_of
from flowhooks.speech.dates import resolve
from flowhooks.speech.digits import digits_of
from flowhooks.speech.normalize import MEMO_CHARS, normalize
from flowhooks.speech.reading import read
from flowhooks.speech.yesno import extract_yes_no

Extracted = tuple[str, str, str, str, str]  # normalizedText, yesNo, digits, amount, date


def extract(text: str, want: frozenset[str], today: date, zone: ZoneInfo) -> Extracted:
    """What ``want`` names of yes_no, digits, amount and date ("" for the rest)."""
    if len(text) > MEMO_CHARS:  # long texts are not memoised: the cache stays small
        return _extract.__wrapped__(text, want, today, zone)
    return _extract(text, want, today, zone)


@lru_cache(maxsize=4096)  # recognisers hand back the same few answers; a hit saves ~20 µs
def _extract(text: str, want: frozenset[str], today: date, zone: ZoneInfo) -> Extracted:
    r = read(text) if want & _READ else None
    return (
        normalize(text),
        extract_yes_no(text) if "yes_no" in want else "",
        digits_of(r) if r is not None and "digits" in want else "",
        amount_of(r) if r is not None and "amount" in want else "",
        resolve(r.days, today, zone, r.done) if r is not None and "date" in want else "",
    )


_READ = frozenset({"digits", "amount", "date"})


def extract_date(text: str, today: date, zone: ZoneInfo) -> str:
    """ISO date of the day the text names; empty if none, or not one."""
    r = read(text)
    return resolve(r.days, today, zone, r.done)
