"""Parsing the dates and times a caller said: digits, words, "tomorrow", "5 pm"."""

from __future__ import annotations

import calendar as _stdcal
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flowhooks.calendar.windows import WEEKDAY_NUMBERS, in_bounds

_MONTHS = {name.lower(): i for i, name in enumerate(_stdcal.month_name) if name} | {
    name.lower(): i for i, name in enumerate(_stdcal.month_abbr) if name
}
_MONTHS["sept"] = 9


# -- parsing what the caller said ---------------------------------------------

_SEPARATED = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s*[-/.]\s*(\d{2}|\d{4}))?")
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH_WORD = r"([a-z]+)\.?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_DAY_MONTH = re.compile(rf"{_DAY}\s*(?:of\s+)?{_MONTH_WORD}{_YEAR}")
_MONTH_DAY = re.compile(rf"{_MONTH_WORD}\s+{_DAY}{_YEAR}")
# a phrase parse_date can read holds a digit or one of these words
ANCHOR_WORDS = frozenset({*_MONTHS, *WEEKDAY_NUMBERS, "today", "tomorrow"})
_RELATIVE = {"today": 0, "tomorrow": 1, "day after tomorrow": 2, "the day after tomorrow": 2}


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date the caller gave, and the time when the text carried one (ISO form)."""

    date: date
    time: time | None = None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _this_or_next_year(month: int, day: int, today: date) -> date | None:
    d = _safe_date(today.year, month, day)
    if d is not None and d >= today:
        return d
    return _safe_date(today.year + 1, month, day)


def _this_or_next_month(day: int, today: date) -> date | None:
    d = _safe_date(today.year, today.month, day)
    if d is not None and d >= today:
        return d
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return _safe_date(year, month, day)


def _full_year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _parse_digits(text: str, today: date) -> date | None:
    n = len(text)
    if n == 8:
        return _safe_date(int(text[4:]), int(text[2:4]), int(text[:2]))
    if n == 6:
        return _safe_date(2000 + int(text[4:]), int(text[2:4]), int(text[:2]))
    if n == 4:
        return _this_or_next_year(int(text[2:]), int(text[:2]), today)
    if n in (1, 2):
        return _this_or_next_month(int(text), today)
    return None


def _parse_iso(text: str, zone: ZoneInfo) -> ParsedDate | None:
    try:
        if len(text) == 10:
            return ParsedDate(date.fromisoformat(text))
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if moment.tzinfo is not None and in_bounds(moment.date()):  # else: past or too far anyway
        moment = moment.astimezone(zone)
    return ParsedDate(moment.date(), moment.time().replace(second=0, microsecond=0))


def _parse_month_words(text: str, today: date) -> date | None:
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        m = pattern.fullmatch(text)
        if m is None or m.group(month_group) not in _MONTHS:
            continue
        month, day = _MONTHS[m.group(month_group)], int(m.group(day_group))
        if m.group(3):
            return _safe_date(int(m.group(3)), month, day)
        return _this_or_next_year(month, day, today)
    return None


def _parse_weekday_words(text: str, today: date) -> date | None:
    name = text.removeprefix("next ").removeprefix("this ").strip()
    if name not in WEEKDAY_NUMBERS:
        return None
    ahead = (WEEKDAY_NUMBERS[name] - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead)


@lru_cache(maxsize=4096)  # callers say the same few dates: "tomorrow", "25-12-2019", ...
def parse_date(text: str, today: date, zone: ZoneInfo) -> ParsedDate | None:
    """Parse every ``inputDate`` form of SPEC 2.1 (day before month); None if unparseable."""
    s = " ".join(text.strip().lower().split())
    if not s:
        return None
    if s.isdigit():
        d = _parse_digits(s, today)
        return ParsedDate(d) if d else None
    if re.match(r"\d{4}-\d{2}-\d{2}", s):
        return _parse_iso(s, zone)
    if s in _RELATIVE:
        return ParsedDate(today + timedelta(days=_RELATIVE[s]))
    m = _SEPARATED.fullmatch(s)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        if m.group(3):
            d = _safe_date(_full_year(m.group(3)), month, day)
        else:
            d = _this_or_next_year(month, day, today)
        return ParsedDate(d) if d else None
    d = _parse_weekday_words(s, today) or _parse_month_words(s, today)
    return ParsedDate(d) if d else None


_TIME_12 = re.compile(r"(\d{1,2})(?:\s*[:.]\s*(\d{2}))?\s*([ap])\.?\s*m\.?")
_TIME_24 = re.compile(r"(\d{1,2})\s*[:.]\s*(\d{2})(?:\s*[:.]\s*\d{2})?")


@lru_cache(maxsize=4096)
def parse_time(text: str) -> time | None:
    """Parse every ``inputTime`` form of SPEC 2.1; None if unparseable or out of range."""
    s = text.strip().lower()
    if not s:
        return None
    if m := _TIME_12.fullmatch(s):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour = hour % 12 + (12 if m.group(3) == "p" else 0)
        return time(hour, minute)
    if m := _TIME_24.fullmatch(s):
        hour, minute = int(m.group(1)), int(m.group(2))
    elif s.isdigit() and len(s) <= 2:
        hour, minute = int(s), 0
    elif s.isdigit() and len(s) in (3, 4):
        hour, minute = int(s[:-2]), int(s[-2:])
    else:
        return None
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
