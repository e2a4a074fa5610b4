"""Days as callers say them, found in a sentence and read against the calendar's today.

``find`` (text only, memoised with the words) finds every mention of a day:
the forms of SPEC 2.1 ("8-12-2019", "2019-12-08", "08122019", "25th december",
"december 25th 2026", "next monday", "day after tomorrow"), and the rest of how
callers say one: "last sunday", "this coming friday", "friday next week", "in a week",
"3 days from now", "a week ago", "the 15th", "20th of next month", "first tuesday of
october", "14th April 15", "sunday the 29th" (the weekday must agree with the date).
``resolve`` turns them into one date, or none when the caller named different days,
named a day that does not exist, or a weekday that contradicts the date.

Rules that are choices (README "Speech"): a weekday alone, "the 15th" alone and a
month and day without a year are the next such day (SPEC 2.1), or the last one when
the sentence is about something done ("I paid on friday"); a two-digit year is 20YY up
to 20 years ahead, else 19YY ("born 3rd march 92"); a bare number is a date only as
DDMMYYYY (8 digits, not after "pin", "number", ...) or when it is all that was said.
Dates are bounded: a day outside 0001..9999, however reached, is no day.
"""

from __future__ import annotations

import calendar as _stdcal
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from flowhooks.speech.numbers import (
    ID_WORDS,
    TEENS,
    TENS,
    UNITS,
    number_at,
)

MONTHS = {name.lower(): i for i, name in enumerate(_stdcal.month_name) if name} | {
    name.lower(): i for i, name in enumerate(_stdcal.month_abbr) if name
}
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(_stdcal.day_name)} | {
    "tues": 1, "weds": 2, "thurs": 3,
}  # fmt: skip
# "fri", "sun": a weekday only beside a date ("Fri, Jul 18"); alone they are other words
WEEKDAY_ABBREVIATIONS = {name[:3].lower(): i for i, name in enumerate(_stdcal.day_name)}
FIXED_DAYS = {("christmas",): (12, 25), ("xmas",): (12, 25), ("christmas", "eve"): (12, 24)} | {
    ("new", "years", "day"): (1, 1), ("new", "years", "eve"): (12, 31),
}  # fmt: skip
# before a weekday these make it a feast, not the next such day: "black friday"
FEAST_WORDS = frozenset({
    "black", "cyber", "good", "easter", "palm", "whit", "white", "trinity", "clean", "maundy",
    "holy", "ash", "shrove", "fat", "orthodox", "great", "lazarus", "super",
    "lunar", "chinese",
})  # fmt: skip
RANGE_WORDS = frozenset({"to", "thru", "through", "till", "until", "minus", "or", "and"})
# before a day these make it a bound, not the day: "after the 5th", "before friday"
BOUND_WORDS = frozenset({"after", "before", "since", "post", "beyond", "around", "approximately"})
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
RELATIVE = {"today": 0, "tonight": 0, "aaj": 0, "tomorrow": 1, "tomorrows": 1, "yesterday": -1}
UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}
UNIT_MONTHS = {"month": 1, "months": 1, "year": 12, "years": 12}
NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1} | {
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}  # fmt: skip
NEXT_WORDS = frozenset({"next", "this", "coming", "upcoming"})
LAST_WORDS = frozenset({"last", "previous", "past"})
# after an ordinal these make it something other than a day: "the 3rd floor", "5th cross"
NOT_A_DAY = frozenset({
    "time", "times", "floor", "call", "attempt", "try", "installment", "instalment", "emi",
    "option", "digit", "number", "person", "one", "place", "rank", "day", "week", "month",
    "year", "grade", "standard", "class", "cross", "main", "street", "avenue", "block",
    "phase", "sector", "stage", "road", "lane", "house", "flat", "payment", "bill", "item",
    "question", "account", "card", "child", "birthday", "anniversary", "quarter", "half",
    "qtr", "last",
})  # fmt: skip
# before a bare ordinal these make it a day: "on the 15th", "by 10th"
DAY_CUES = frozenset(
    {"on", "by", "till", "until", "before", "after", "from", "for", "dated", "between"}
)
# a sentence about something done: a lone weekday or day is the last one, not the next
DONE_WORDS = frozenset({
    "paid", "called", "came", "visited", "sent", "received", "got", "happened", "bought",
    "spoke", "talked", "told", "gave", "took", "deducted", "debited", "credited",
    "transferred", "submitted", "filed", "deposited", "withdrew", "ordered", "was", "were",
    "did", "went", "delivered", "missed",
})  # fmt: skip
NOT_DONE_AFTER = frozenset({"wondering", "hoping", "thinking", "planning", "going"})
_DATE_TOKEN = re.compile(r"(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?")
_ISO_TOKEN = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(t.*)?")
_ORDINAL_TOKEN = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")
PIVOT_YEARS = 20  # a two-digit year up to 20 years ahead is 20YY, else 19YY


# every word a day mention can start with (besides digits)
STARTS = frozenset({
    *MONTHS, *WEEKDAYS, *WEEKDAY_ABBREVIATIONS, *RELATIVE, *ORDINALS, *TENS, *TEENS, *UNITS,
    *NEXT_WORDS, *LAST_WORDS, "day", "the", "in", "after", "a", "an", "christmas", "xmas",
    "new",
})  # fmt: skip


@dataclass(slots=True)  # not frozen (never changed once made): 3x cheaper to build
class Said:
    """A day mentioned at words[start:end], before it is read against today.

    ``kind`` says which fields hold it:
    * ``date``: ``year`` (under 100 when said in two digits; None: this year or the
      next), ``month``, ``day``; ``exact``: an ISO or D-M-YYYY date, as said;
    * ``day``: a ``day`` of the month, ``months`` from this one (None: this month, or
      the next when past);
    * ``shift``: ``days`` and ``months`` from today;
    * ``weekday``: ``weekday`` and ``mode`` (next, last, next_week, this_week,
      last_week, after_next; "" alone), plus ``days`` ("a week from monday");
    * ``nth``: the ``day``-th (-1: last) ``weekday`` (None: any day) of ``month``
      (``year``) or of the month ``months`` from this one;
    * ``moment``: an ISO date-time (``text``), read in the calendar's zone;
    * ``month``: a month and year (no day, but its words are not an amount either);
    * ``vague``: a day was said, but not one to trust (a range, a month alone)."""

    start: int
    end: int
    kind: str
    year: int | None = None
    month: int | None = None
    day: int = 0
    months: int | None = None
    days: int = 0
    weekday: int | None = None
    mode: str = ""
    check: int | None = None  # a weekday said beside the date: it must agree
    text: str = ""


# -- finding the mentions ----------------------------------------------------------


def find(ws: tuple[str, ...]) -> tuple[Said, ...]:
    """Every day mentioned in the words, negated ones ("not monday") left out."""
    found: list[Said] = []
    i = 0
    while i < len(ws):
        w = ws[i]
        if w not in STARTS and not "0" <= w[0] <= "9":
            i += 1  # most words start no day: one set lookup
            continue
        said = _said_at(ws, i)
        if said is None:
            number = number_at(ws, i)  # no day starts inside a number: skip past it
            i = max(i + 1, number.end) if number is not None else i + 1
            continue
        found.append(said)
        i = said.end
    checked = [_unsure(ws, s) for s in _checked(found, ws) if s.mode != "abbreviation"]
    return tuple(s for s in checked if not _negated(ws, s.start))


def _unsure(ws: tuple[str, ...], s: Said) -> Said:
    """A day said as one end of a range or a choice ("july 13 to 15", "from 13 to 15
    july", "the 5th or 6th"), as a bound ("after the 5th"), the week around it ("the
    week of october 6th"), or a feast's weekday ("black friday"): no one day to trust."""
    before = tuple(w for w in ws[max(0, s.start - 3) : s.start] if w != "the")[-2:]
    after = tuple(w for w in ws[s.end : s.end + 3] if w != "the")[:2]
    to_a_day = len(after) == 2 and after[0] in RANGE_WORDS and _day_like(after[1])
    from_a_day = len(before) == 2 and before[1] in RANGE_WORDS and _day_like(before[0])
    then_a_day = s.kind in ("date", "day") and len(after) > 0 and _day_like(after[0])
    bound = len(before) > 0 and before[-1] in BOUND_WORDS
    previous = ws[s.start - 1] if s.start else ""
    feast = previous in FEAST_WORDS and (s.kind == "date" or s.mode in ("", "abbreviation"))
    unsure = to_a_day or from_a_day or then_a_day or bound or feast or before == ("week", "of")
    return replace(s, kind="vague") if unsure else s


def _day_like(word: str) -> bool:
    return bool(_ORDINAL_TOKEN.fullmatch(word)) or (word.isdigit() and len(word) <= 2)


def done(ws: tuple[str, ...]) -> bool:
    """Whether the sentence tells of something done ("I paid on friday")."""
    for i, w in enumerate(ws):
        if w in DONE_WORDS and (i + 1 == len(ws) or ws[i + 1] not in NOT_DONE_AFTER):
            return True
    return False


def _negated(ws: tuple[str, ...], start: int) -> bool:
    before = ws[max(0, start - 2) : start]
    return "not" in before and (before[-1] == "not" or before[-1] in ("on", "the", "this"))


def _checked(found: list[Said], ws: tuple[str, ...]) -> list[Said]:
    """A weekday right beside a date ("sunday feb 14", "friday the 27th", "25th december
    friday") is not a day of its own: the date must fall on it."""
    out: list[Said] = []
    for said in found:
        prev = out[-1] if out else None
        if prev is not None and _beside(prev, said, ws):
            weekday, dated = (prev, said) if prev.kind == "weekday" else (said, prev)
            out[-1] = replace(dated, check=weekday.weekday, start=prev.start, end=said.end)
        else:
            out.append(said)
    return out


def _beside(a: Said, b: Said, ws: tuple[str, ...]) -> bool:
    kinds = {a.kind, b.kind}
    if "weekday" not in kinds or len(kinds) != 2 or not kinds & {"date", "day"}:
        return False
    if (a.weekday if a.kind == "weekday" else b.weekday) is None:
        return False
    weekday = a if a.kind == "weekday" else b
    if weekday.mode not in ("", "abbreviation"):
        return False  # "next friday 27th" is two mentions; they must agree anyway
    gap = ws[a.end : b.start]
    return all(w in ("the", "on", "of") for w in gap) and len(gap) <= 1


def _said_at(ws: tuple[str, ...], i: int) -> Said | None:
    w = ws[i]
    if w[0].isdigit():
        return _digits_at(ws, i)
    if w in ORDINALS or w in TENS or w in UNITS or w in TEENS:
        return _day_words_at(ws, i) or _shift_at(ws, i)
    if w in MONTHS:
        return _month_first(ws, i)
    if w in WEEKDAYS:
        return _weekday_at(ws, i)
    if w in WEEKDAY_ABBREVIATIONS:
        return Said(i, i + 1, "weekday", weekday=WEEKDAY_ABBREVIATIONS[w], mode="abbreviation")
    if w in ("christmas", "xmas", "new"):
        return _fixed_day_at(ws, i)
    if w in RELATIVE:
        return Said(i, i + 1, "shift", days=RELATIVE[w])
    if w == "day" or (w == "the" and i + 1 < len(ws) and ws[i + 1] == "day"):
        return _day_after_at(ws, i)
    if w in NEXT_WORDS or w in LAST_WORDS:
        return _modified_at(ws, i)
    if w in ("in", "after"):
        return _shift_after_word(ws, i)
    if w in ("a", "an"):
        return _shift_at(ws, i)
    return None


def _digits_at(ws: tuple[str, ...], i: int) -> Said | None:
    w = ws[i]
    if w.isdigit():
        if len(w) in (6, 8):
            return _packed(ws, i)
        return (_day_first(ws, i) if len(w) <= 2 else None) or _shift_at(ws, i)
    if m := _ISO_TOKEN.fullmatch(w):
        if m.group(4):
            return Said(i, i + 1, "moment", text=w)
        return Said(i, i + 1, "exact", int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if (m := _DATE_TOKEN.fullmatch(w)) and not (w.count(".") == 1 and m.group(3) is None):
        if m.group(3) is None and not _day_and_month(ws, i):
            return None
        day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
        if year is not None and len(year) == 4:
            return Said(i, i + 1, "exact", int(year), month, day)
        return Said(i, i + 1, "date", int(year) if year else None, month, day)
    if _ORDINAL_TOKEN.fullmatch(w):
        return _day_first(ws, i)
    return _shift_at(ws, i)


def _day_and_month(ws: tuple[str, ...], i: int) -> bool:
    """Whether "25/12" is a day and month: not "3-4 pm", "in 1/2 hour", "1-8 september"."""
    after = ws[i + 1] if i + 1 < len(ws) else ""
    if after in _CLOCK_WORDS or after in UNIT_DAYS or after in UNIT_MONTHS or after in MONTHS:
        return False
    return after not in ("h", "hour", "hr", "hrs") and (i == 0 or ws[i - 1] != "in")


def _packed(ws: tuple[str, ...], i: int) -> Said | None:
    """DDMMYYYY anywhere but after an identifier's name; DDMMYY only when said alone."""
    w = ws[i]
    if len(w) == 6 and len(ws) != 1:
        return None
    if any(x in ID_WORDS for x in ws[max(0, i - 3) : i]):
        return None
    year = int(w[4:])
    if len(w) == 8 and not 1900 <= year <= 2199:
        return None
    if not (1 <= int(w[2:4]) <= 12 and 1 <= int(w[:2]) <= 31):
        return None
    return Said(i, i + 1, "date", year, int(w[2:4]), int(w[:2]))


def _day_at(ws: tuple[str, ...], i: int) -> tuple[int, int, bool] | None:
    """(day, next index, said as an ordinal) of a day of the month at words[i]."""
    if i >= len(ws):
        return None
    w = ws[i]
    if m := _ORDINAL_TOKEN.fullmatch(w):
        day, j, ordinal = int(m.group(1)), i + 1, True
    elif w.isdigit() and len(w) <= 2:
        day, j, ordinal = int(w), i + 1, False
    elif w in ORDINALS:
        day, j, ordinal = ORDINALS[w], i + 1, True
    elif w in TENS and i + 1 < len(ws) and ws[i + 1] in ORDINALS and ORDINALS[ws[i + 1]] < 10:
        day, j, ordinal = TENS[w] + ORDINALS[ws[i + 1]], i + 2, True
    elif w in TENS or w in UNITS or w in TEENS:
        number = number_at(ws, i)
        if number is None or number.value is None or number.kind != "words":
            return None
        day, j, ordinal = int(number.value), number.end, False
    else:
        return None
    return (day, j, ordinal) if 1 <= day <= 31 else None


def _year_at(ws: tuple[str, ...], i: int) -> tuple[int, int] | None:
    """(year, next index) of a year said at words[i]: 2026, 92, "twenty twenty six",
    "nineteen ninety", "two thousand and nine"."""
    if i >= len(ws):
        return None
    w = ws[i]
    after = ws[i + 1] if i + 1 < len(ws) else ""
    if after in _CLOCK_WORDS or after in UNIT_DAYS or after in UNIT_MONTHS:
        return None
    if w.isdigit() and len(w) == 4 and 1900 <= int(w) <= 2199:
        return int(w), i + 1
    if w.isdigit() and len(w) == 2:
        return int(w), i + 1
    number = number_at(ws, i)
    if number is None or number.value is None or number.kind not in ("parts", "scaled"):
        return None
    year = int(number.value)
    return (year, number.end) if 1900 <= year <= 2199 else None


def _day_first(ws: tuple[str, ...], i: int) -> Said | None:
    """What starts with a day: "25th december [2026]", "the 25th of december", "the
    15th of next month", "15th" alone, "1st monday of december"."""
    found = _day_at(ws, i)
    if found is None:
        return None
    day, j, ordinal = found
    j_of = j + 1 if j < len(ws) and ws[j] == "of" else j
    if j_of < len(ws) and ws[j_of] == "the":
        j_of += 1
    if j_of < len(ws) and ws[j_of] in MONTHS:
        year = _year_at(ws, j_of + 1)
        end = year[1] if year else j_of + 1
        return Said(i, end, "date", year[0] if year else None, MONTHS[ws[j_of]], day)
    months = _month_named(ws, j_of) if j_of > j else None  # "20(th) of next month"
    if months is not None:
        return Said(i, months[1], "day", day=day, months=months[0])
    if not ordinal:
        return None
    if ws[i] in NTH and j < len(ws) and ws[j] in WEEKDAYS:
        return _nth_at(ws, i, j)
    if ws[j : j + 2] == ("day", "of") and j + 2 < len(ws) and ws[j + 2] in MONTHS:
        return _month_day(ws, i, j + 2, day)
    return _lone_day(ws, i, j, day)


def _month_day(ws: tuple[str, ...], i: int, k: int, day: int) -> Said:
    """ "third day of october [2015]", "last day of october" (``day`` -1)."""
    year = _year_at(ws, k + 1)
    end = year[1] if year else k + 1
    return Said(i, end, "nth", year[0] if year else None, MONTHS[ws[k]], day)


def _month_named(ws: tuple[str, ...], j: int) -> tuple[int | None, int] | None:
    """(months from this one, next index) of "next month", "this month", "the month"."""
    if j + 1 < len(ws) and ws[j + 1] == "month":
        shift = {"next": 1, "this": 0, "coming": 1, "last": -1, "previous": -1, "the": None}
        if ws[j] in shift:
            return shift[ws[j]], j + 2
    if j < len(ws) and ws[j] == "month" and j > 0 and ws[j - 1] == "the":
        return None, j + 1
    return None


def _lone_day(ws: tuple[str, ...], i: int, j: int, day: int) -> Said | None:
    """ "15th" said alone is a day of the month when it is all that was said, or follows
    "on", "by", ... ("on the 15th"), and no noun makes it something else."""
    if j < len(ws) and ws[j] in NOT_A_DAY:
        return None
    k = i - 1 if i > 0 and ws[i - 1] == "the" else i
    before = ws[k - 1] if k > 0 else ""
    if k == 0 or before in DAY_CUES or before in WEEKDAYS or (k < i and j == len(ws)):
        return Said(i, j, "day", day=day)
    return None


def _day_words_at(ws: tuple[str, ...], i: int) -> Said | None:
    if ws[i] in NTH and i + 1 < len(ws) and ws[i + 1] in WEEKDAYS:
        return _nth_at(ws, i, i + 1)
    return _day_first(ws, i)


def _nth_at(ws: tuple[str, ...], i: int, j: int) -> Said | None:
    """ "first tuesday of october [2027]", "last friday of this month"."""
    weekday, k = WEEKDAYS[ws[j]], j + 1
    if k >= len(ws) or ws[k] not in ("of", "in"):
        return Said(i, k, "vague")  # "third tuesday after christmas": of what, unsure
    k += 1
    if k < len(ws) and ws[k] == "the" and k + 1 < len(ws) and ws[k + 1] in MONTHS:
        k += 1
    if k < len(ws) and ws[k] in MONTHS:
        year = _year_at(ws, k + 1)
        end = year[1] if year else k + 1
        return Said(
            i, end, "nth", year[0] if year else None, MONTHS[ws[k]], NTH[ws[i]], weekday=weekday
        )
    months = _month_named(ws, k)
    if months is None:
        return Said(i, k, "vague")
    return Said(i, months[1], "nth", day=NTH[ws[i]], months=months[0] or 0, weekday=weekday)


def _month_first(ws: tuple[str, ...], i: int) -> Said | None:
    """ "december 25th [2026]", "dec the 25th", "jan twenty sixth"."""
    j = i + 1
    if j < len(ws) and ws[j] == "the":
        j += 1
    found = _day_at(ws, j)
    if found is None:
        year = _year_at(ws, i + 1)  # "december 2026": no day, but its words are a year
        if year:
            return Said(i, year[1], "month", year[0], MONTHS[ws[i]])
        return None if ws[i] == "may" else Said(i, i + 1, "vague")
    if ws[i] == "may" and not found[2] and not ws[j].isdigit():
        return None
    day, k, _ = found
    year = _year_at(ws, k)
    end = year[1] if year else k
    return Said(i, end, "date", year[0] if year else None, MONTHS[ws[i]], day)


def _weekday_at(ws: tuple[str, ...], i: int) -> Said:
    """ "friday", "friday next week", "monday after next"."""
    weekday, j = WEEKDAYS[ws[i]], i + 1
    if j < len(ws) and ws[j] in ("of", "from"):  # "wednesday of next week"
        j += 1
    pair = ws[j : j + 2]
    if pair in _WEEK_MODES:
        return Said(i, j + 2, "weekday", weekday=weekday, mode=_WEEK_MODES[pair])
    return Said(i, i + 1, "weekday", weekday=weekday)


_WEEK_MODES = {("next", "week"): "next_week", ("this", "week"): "this_week"} | {
    ("last", "week"): "last_week", ("after", "next"): "after_next",
}  # fmt: skip


def _fixed_day_at(ws: tuple[str, ...], i: int) -> Said | None:
    """ "christmas (day)", "xmas", "christmas eve", "new year's day"."""
    for size in (3, 2, 1):
        key = ws[i : i + size]
        if key in FIXED_DAYS:
            month, day = FIXED_DAYS[key]
            end = i + size + (1 if ws[i + size : i + size + 1] == ("day",) else 0)
            year = _year_at(ws, end)
            return Said(i, year[1] if year else end, "date", year[0] if year else None, month, day)
    return None


def _modified_at(ws: tuple[str, ...], i: int) -> Said | None:
    """Days after next/this/coming/last: "next monday", "this coming friday", "last
    sunday", "last friday of december", "next week friday", "next month 10th"."""
    j = i + 2 if ws[i : i + 2] == ("this", "coming") else i + 1
    if ws[i] == "last":
        found = _last_at(ws, i, j)
        if found is not None:
            return found
    if j < len(ws) and ws[j] in WEEKDAYS:
        mode = "last" if ws[i] in LAST_WORDS else "next"
        return Said(i, j + 1, "weekday", weekday=WEEKDAYS[ws[j]], mode=mode)
    if j < len(ws) and ws[j] == "week" and ws[i] in ("next", "this", "last"):
        k = j + 2 if ws[j + 1 : j + 2] == ("on",) else j + 1
        if k < len(ws) and ws[k] in WEEKDAYS:
            mode = {"next": "next_week", "last": "last_week"}.get(ws[i], "this_week")
            return Said(i, k + 1, "weekday", weekday=WEEKDAYS[ws[k]], mode=mode)
    if j < len(ws) and ws[j] == "month" and ws[i] in ("next", "this"):
        k = j + 1
        while k < len(ws) and ws[k] in ("on", "the"):
            k += 1
        found_day = _day_at(ws, k)
        if found_day is not None and found_day[2]:
            months = 1 if ws[i] == "next" else 0
            return Said(i, found_day[1], "day", day=found_day[0], months=months)
    return None


def _last_at(ws: tuple[str, ...], i: int, j: int) -> Said | None:
    """ "last friday of december", "last day of october", "last week's sunday"."""
    if ws[j : j + 1] and ws[j] in WEEKDAYS and ws[j + 1 : j + 2] in (("of",), ("in",)):
        return _nth_at(ws, i, j)
    if ws[j : j + 2] == ("day", "of") and ws[j + 2 : j + 3] and ws[j + 2] in MONTHS:
        if i and (ws[i - 1] in ORDINALS or _ORDINAL_TOKEN.fullmatch(ws[i - 1])):
            return Said(i, j + 3, "vague")  # "fifth last day of may"
        return _month_day(ws, i, j + 2, -1)
    if ws[j : j + 1] == ("weeks",) and ws[j + 1 : j + 2] and ws[j + 1] in WEEKDAYS:
        return Said(i, j + 2, "weekday", weekday=WEEKDAYS[ws[j + 1]], mode="last_week")
    return None


def _day_after_at(ws: tuple[str, ...], i: int) -> Said | None:
    """ "(the) day after tomorrow", "(the) day before yesterday"."""
    j = i + 1 if ws[i] == "the" else i
    tail = ws[j + 1 : j + 3]
    if tail == ("after", "tomorrow"):
        return Said(i, j + 3, "shift", days=2)
    if tail == ("before", "yesterday"):
        return Said(i, j + 3, "shift", days=-2)
    return None


def _count_at(ws: tuple[str, ...], i: int) -> tuple[int, int] | None:
    """(how many, next index) of "3", "three", "a", "a couple of" before a unit."""
    if i >= len(ws):
        return None
    if ws[i] in ("a", "an", "one") and i + 1 < len(ws) and _unit(ws[i + 1]) is not None:
        return 1, i + 1
    number = number_at(ws, i)
    if number is None or number.value is None or number.value != int(number.value):
        return None
    return int(number.value), number.end


def _unit(word: str) -> tuple[int, int] | None:
    """(days, months) of one ``word``: week -> (7, 0), year -> (0, 12)."""
    if word in UNIT_DAYS:
        return UNIT_DAYS[word], 0
    if word in UNIT_MONTHS:
        return 0, UNIT_MONTHS[word]
    return None


def _shift_after_word(ws: tuple[str, ...], i: int) -> Said | None:
    """ "in a week", "in 3 days('s) time", "after 2 days", "after a month"."""
    count = _count_at(ws, i + 1)
    if count is None or count[1] >= len(ws):
        return None
    unit = _unit(ws[count[1]])
    if unit is None:
        return None
    end = count[1] + 1
    if end < len(ws) and ws[end] in ("time", "s"):
        end += 1
    n = count[0]
    return Said(i, end, "shift", days=n * unit[0], months=n * unit[1])


_AGO = {"ago": -1, "back": -1, "before": -1, "later": 1, "hence": 1}
_FROM = {"now": 0, "today": 0, "tomorrow": 1}


def _shift_at(ws: tuple[str, ...], i: int) -> Said | None:
    """ "3 days from now", "a week from today", "two weeks from tomorrow", "3 days ago",
    "two days back", "two days later"."""
    count = _count_at(ws, i)
    if count is None or count[1] + 1 >= len(ws):
        return None
    unit = _unit(ws[count[1]])
    if unit is None:
        return None
    n, j = count[0], count[1] + 1
    if ws[j] in _AGO:
        sign = _AGO[ws[j]]
        return Said(i, j + 1, "shift", days=sign * n * unit[0], months=sign * n * unit[1])
    if ws[j] == "from" and j + 1 < len(ws) and ws[j + 1] in _FROM:
        base = _FROM[ws[j + 1]]
        return Said(i, j + 2, "shift", days=base + n * unit[0], months=n * unit[1])
    if ws[j] == "from" and j + 1 < len(ws) and ws[j + 1] in WEEKDAYS and not unit[1]:
        weekday = WEEKDAYS[ws[j + 1]]  # "a week from monday"
        return Said(i, j + 2, "weekday", weekday=weekday, mode="next", days=n * unit[0])
    return None


_CLOCK_WORDS = frozenset({"am", "pm", "oclock", "baje", "hours", "hrs", "minutes", "mins"})


# -- reading them against today -------------------------------------------------------


def resolve(said: tuple[Said, ...], today: date, zone: ZoneInfo, was_done: bool) -> str:
    """The ISO date all mentions agree on; empty when there is none, or not one."""
    days: set[date] = set()
    for one in said:
        if one.kind == "month":
            continue  # a month and year is not a day
        if one.kind == "vague":
            return ""
        try:
            day = _resolve(one, today, zone, was_done)
        except (ValueError, OverflowError):  # past 9999 or before year 1: no day
            day = None
        if day is None or (one.check is not None and day.weekday() != one.check):
            return ""
        days.add(day)
    return days.pop().isoformat() if len(days) == 1 else ""


def _resolve(s: Said, today: date, zone: ZoneInfo, was_done: bool) -> date | None:
    if s.kind == "date":
        return _calendar_day(s, today, was_done)
    if s.kind == "exact":
        return date(s.year or 0, s.month or 0, s.day)
    if s.kind == "day":
        return _day_of_month(s, today, was_done)
    if s.kind == "shift":
        return today + timedelta(days=s.days) + relativedelta(months=s.months or 0)
    if s.kind == "weekday":
        return _weekday(s, today, was_done)
    if s.kind == "nth":
        return _nth(s, today)
    if s.kind == "moment":
        moment = datetime.fromisoformat(s.text.upper())
        return (moment.astimezone(zone) if moment.tzinfo else moment).date()
    return None


def _full_year(year: int | None, today: date) -> int | None:
    """A year as said: under 100 it was two digits, 20YY up to PIVOT_YEARS ahead else 19YY."""
    if year is None or year >= 100:
        return year
    full = today.year - today.year % 100 + year
    return full if full <= today.year + PIVOT_YEARS else full - 100


def _calendar_day(s: Said, today: date, was_done: bool) -> date | None:
    year = _full_year(s.year, today)
    month = s.month or 0
    if year is not None:
        return _safe(year, month, s.day)
    this = _safe(today.year, month, s.day)
    if was_done:
        return this if this is not None and this <= today else _safe(today.year - 1, month, s.day)
    return this if this is not None and this >= today else _safe(today.year + 1, month, s.day)


def _day_of_month(s: Said, today: date, was_done: bool) -> date | None:
    if s.months is not None:
        first = today.replace(day=1) + relativedelta(months=s.months)
        return _safe(first.year, first.month, s.day)
    this = _safe(today.year, today.month, s.day)
    if was_done:
        if this is not None and this <= today:
            return this
        before = today.replace(day=1) - relativedelta(months=1)
        return _safe(before.year, before.month, s.day)
    if this is not None and this >= today:
        return this
    after = today.replace(day=1) + relativedelta(months=1)
    return _safe(after.year, after.month, s.day)


def _weekday(s: Said, today: date, was_done: bool) -> date:
    assert s.weekday is not None
    mode = s.mode or ("last" if was_done else "next")
    ahead = (s.weekday - today.weekday() - 1) % 7 + 1
    if mode == "next":
        return today + timedelta(days=ahead + s.days)
    if mode == "last":
        return today - timedelta(days=(today.weekday() - s.weekday - 1) % 7 + 1)
    if mode == "after_next":
        return today + timedelta(days=ahead + 7)
    monday = today - timedelta(days=today.weekday())
    week = {"next_week": 7, "this_week": 0, "last_week": -7}[mode]
    return monday + timedelta(days=week + s.weekday)


def _nth(s: Said, today: date) -> date | None:
    if s.month is None:
        first = today.replace(day=1) + relativedelta(months=s.months or 0)
        return _nth_in(first.year, first.month, s.weekday, s.day)
    year = _full_year(s.year, today)
    if year is not None:
        return _nth_in(year, s.month, s.weekday, s.day)
    this = _nth_in(today.year, s.month, s.weekday, s.day)
    if this is not None and this >= today:
        return this
    return _nth_in(today.year + 1, s.month, s.weekday, s.day)


def _nth_in(year: int, month: int, weekday: int | None, n: int) -> date | None:
    """The ``n``-th (-1: last) ``weekday`` (None: any day) of a month."""
    if not 1 <= year <= 9999 or not 1 <= month <= 12:
        return None
    days = range(1, _stdcal.monthrange(year, month)[1] + 1)
    matching = [d for d in days if weekday is None or date(year, month, d).weekday() == weekday]
    if n == -1:
        return date(year, month, matching[-1])
    return date(year, month, matching[n - 1]) if n <= len(matching) else None


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
