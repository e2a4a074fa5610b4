"""One reading of a text that digits, amounts and dates share: its words, the days it
mentions, and every number outside them with the part it plays in the sentence.

A number's *role* comes from the words beside it: ``money`` (a currency or sub-unit
next to it: "₹20", "20 rupees", "fifty paise"), ``time`` ("at 5", "5 pm", "at five
thirty"), ``count`` ("3 days", "four digits", "2 cards"), ``id`` ("my pin is 4421"),
``not`` ("not 3000") or ``plain``. Reading it once, memoised per text, keeps the three
extractors from disagreeing about what a word is.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

from flowhooks.speech import dates
from flowhooks.speech.normalize import MEMO_CHARS, words
from flowhooks.speech.numbers import (
    ID_WORDS,
    Number,
    Words,
    number_at,
    read_number,
    starts_number,
)

CURRENCIES = {
    **dict.fromkeys(("rupees", "rupee", "rs", "inr", "₹", "rupaye", "rupay", "rupiya"), "rupee"),
    **dict.fromkeys(
        ("dollars", "dollar", "bucks", "buck", "usd", "cad", "aud", "sgd", "nzd", "$"), "dollar"
    ),
    **dict.fromkeys(("euros", "euro", "eur", "€"), "euro"),
    **dict.fromkeys(("pounds", "pound", "quid", "gbp", "£"), "pound"),
    **dict.fromkeys(("ringgit", "ringgits", "rm", "myr"), "ringgit"),
    **dict.fromkeys(("dirhams", "dirham", "aed"), "dirham"),
    **dict.fromkeys(("riyals", "riyal", "sar", "qar", "rials", "rial"), "riyal"),
    **dict.fromkeys(("dinars", "dinar", "kwd", "bhd"), "dinar"),
    **dict.fromkeys(("francs", "franc", "chf"), "franc"),
    **dict.fromkeys(("yen", "jpy"), "yen"),
    **dict.fromkeys(("yuan", "cny", "rmb"), "yuan"),
    **dict.fromkeys(("shekels", "shekel", "ils"), "shekel"),
    **dict.fromkeys(("rand", "zar"), "rand"),
    **dict.fromkeys(("taka", "bdt"), "taka"),
}
_CENTS_OF = frozenset(CURRENCIES.values()) - {"rupee", "pound", "taka"}
SUBUNITS = {
    **dict.fromkeys(("paise", "paisa", "paisay"), frozenset({"rupee", "taka"})),
    **dict.fromkeys(("cents", "cent", "c"), _CENTS_OF),
    **dict.fromkeys(("pence", "penny", "pennies"), frozenset({"pound"})),
    "p": frozenset({"pound", "rupee"}),
    **dict.fromkeys(("sen", "sens"), frozenset({"ringgit", "yen"})),
    "fils": frozenset({"dirham", "dinar"}),
}
# a word between a number and its currency: "forty canadian dollars"
CURRENCY_ADJECTIVES = frozenset({
    "canadian", "us", "american", "australian", "singapore", "malaysia", "malaysian",
    "kuwaiti", "saudi", "qatari", "swiss", "japanese", "chinese", "indian", "south",
    "african", "hong", "kong", "new", "zealand",
})  # fmt: skip
COUNT_NOUNS = frozenset({
    "day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours",
    "hrs", "minute", "minutes", "mins", "second", "seconds", "time", "times", "digit",
    "digits", "people", "person", "persons", "members", "kids", "children", "items",
    "pieces", "transactions", "cards", "card", "accounts", "loans", "emis", "installments",
    "instalments", "calls", "attempts", "tickets", "orders", "percent", "km", "kms", "kg",
    "floor", "star", "stars", "options", "numbers", "child", "adult", "adults", "guests",
    "seats", "rooms", "nights",
})  # fmt: skip
CLOCK_WORDS = frozenset({"am", "pm", "oclock", "baje", "sharp"})
TIME_CUES = frozenset({"at", "after", "before", "by", "till", "until"})
VAGUE = frozenset({"something", "odd", "plus", "ish"})
# a bound is not the amount: "under 7 euros", "at least $1.42", "less than 500", "-504"
BOUNDS = frozenset({
    "under", "below", "over", "above", "upto", "within", "max", "maximum", "min", "minimum",
    "least", "most", "than", "minus", "negative", "beyond", "exceeding",
})  # fmt: skip


@dataclass(slots=True)  # not frozen (never changed once made): 3x cheaper to build
class Spoken:
    """A number as it is used in the sentence."""

    number: Number
    role: str  # money | time | count | id | not | plain
    currency: str | None = None  # the currency named beside it ("rupee", "dollar", ...)
    sub: frozenset[str] | None = None  # said in sub-units ("paise"): their currencies
    cents: bool = False  # the sub-unit part of the money before it: "20 rupees 43"
    restated: bool = False  # "forty five (45)": the number just before, said again
    vague: bool = False  # "two hundred and something", "500 odd"


@dataclass(frozen=True, slots=True)
class Reading:
    words: tuple[str, ...]
    days: tuple[dates.Said, ...]
    done: bool  # the sentence tells of something done: "I paid on friday"
    numbers: tuple[Spoken, ...]


def read(text: str) -> Reading:
    return _read(text) if len(text) <= MEMO_CHARS else _read.__wrapped__(text)


@lru_cache(maxsize=4096)  # the extractors of one request read the same text
def _read(text: str) -> Reading:
    ws = Words(words(text))
    days = dates.find(ws)
    covered = {i for d in days for i in range(d.start, d.end)} if days else set()
    starts = sorted(d.start for d in days)  # a number stops where a day starts
    numbers: list[Spoken] = []
    i = 0
    while i < len(ws):
        if i in covered or not starts_number(ws, i):
            i += 1
            continue
        later = bisect_right(starts, i)
        stop = starts[later] if later < len(starts) else len(ws)
        number = number_at(ws, i) if stop == len(ws) else read_number(ws[:stop], i)
        if number is None or number.end == i:  # "point" right before a day: no number
            i += 1
            continue
        numbers.append(_spoken(ws, number, numbers[-1] if numbers else None))
        i = number.end
    return Reading(ws, days, dates.done(ws), _ranges(ws, numbers))


def _ranges(ws: tuple[str, ...], numbers: list[Spoken]) -> tuple[Spoken, ...]:
    """Numbers joined into a range or a choice say no one amount: "500 or 600 rupees",
    "between 500 and 1000 rupees" (both money), "fifty to sixty thousand" (both vague)."""
    out = list(numbers)
    for k in range(len(out) - 2, -1, -1):
        one, nxt = out[k], out[k + 1]
        if (
            one.role not in ("plain", "time")
            or ws[one.number.end : nxt.number.start] not in _RANGE_GAPS
        ):
            continue
        if nxt.role == "money" and nxt.currency:
            out[k] = replace(one, role="money", currency=nxt.currency)
        elif nxt.role == "plain" and nxt.number.kind == "scaled":
            out[k], out[k + 1] = replace(one, vague=True), replace(nxt, vague=True)
    return tuple(out)


_RANGE_GAPS = (("and",), ("or",), ("to",), ("minus",))


def _spoken(ws: tuple[str, ...], n: Number, prev: Spoken | None) -> Spoken:
    before = ws[n.start - 1] if n.start else ""
    after = ws[n.end] if n.end < len(ws) else ""
    vague = _vague(ws, n, before, after)
    if prev is not None and prev.number.end == n.start - 1 and before in CURRENCIES:
        if not _prefixed(ws, prev.number):
            before = ""  # "20 rupees 43": that currency word is the first number's
    cents = _cents(ws, n, prev, after)
    sub = SUBUNITS.get(after)
    currency = None if sub or cents else _currency(ws, n, before, after)
    role = "money" if sub or cents or currency else _role(ws, n, before, after, prev)
    restated = (
        prev is not None
        and prev.number.end == n.start
        and prev.number.value == n.value
        and (prev.number.kind == "digits") != (n.kind == "digits")
    )
    return Spoken(n, role, currency, sub, cents, restated, vague)


def _vague(ws: tuple[str, ...], n: Number, before: str, after: str) -> bool:
    """ "two hundred and something", "500 odd", "under 7 euros", "at least $1.42"."""
    if after in VAGUE or ws[n.end : n.end + 2] in (("or", "so"), ("and", "something")):
        return True
    if before in CURRENCIES and n.start >= 2:
        before = ws[n.start - 2]
    return before in BOUNDS


def _cents(ws: tuple[str, ...], n: Number, prev: Spoken | None, after: str) -> bool:
    """Whether ``n`` is the sub-unit part of the money just before it: after its
    currency word ("20 rupees 43", "20 rupees and 43 paise", "3 CAD 3 cents"), right
    after it when the currency came first ("$20 43"), or after "a dollar"."""
    if after in CURRENCIES or (n.value is not None and n.value >= 100):
        return False
    start = n.start
    if prev is None or prev.role != "money" or prev.sub is not None or prev.cents:
        return start >= 2 and ws[start - 2] in ("a", "an") and ws[start - 1] in CURRENCIES
    gap = ws[prev.number.end : start]
    if any(w not in CURRENCIES and w not in ("and", *CURRENCY_ADJECTIVES) for w in gap):
        return False
    if after in SUBUNITS:
        return True
    said_first = _prefixed(ws, prev.number)
    return (not gap and said_first) or (0 < len(gap) <= 2 and not said_first)


def _prefixed(ws: tuple[str, ...], n: Number) -> bool:
    """Whether the currency came before the number ("$20", "rs 750")."""
    return n.start > 0 and ws[n.start - 1] in CURRENCIES


def _currency(ws: tuple[str, ...], n: Number, before: str, after: str) -> str | None:
    if before in CURRENCIES:
        return CURRENCIES[before]
    if after in CURRENCIES:
        return CURRENCIES[after]
    if after in CURRENCY_ADJECTIVES and n.end + 1 < len(ws):
        return CURRENCIES.get(ws[n.end + 1])
    return None


def _role(ws: tuple[str, ...], n: Number, before: str, after: str, prev: Spoken | None) -> str:
    if before == "not":
        return "not"
    if after in COUNT_NOUNS:
        return "count"
    if after in CLOCK_WORDS or (before in TIME_CUES and _clock_like(n)):
        return "time"
    beside = prev is not None and prev.number.end == n.start
    if beside and prev is not None and prev.role == "time":
        return "time" if n.value is not None and n.value < 60 else "plain"  # "at 10 30"
    if (beside and prev is not None and prev.role == "id") or any(
        w in ID_WORDS for w in ws[max(0, n.start - 3) : n.start]
    ):
        return "id"  # "number is 1234 5678 9012": every group
    return "plain"


def _clock_like(n: Number) -> bool:
    """Whether a number reads as a time of day: 5, 10.30, "five thirty" (5:30)."""
    v = n.value
    if v is None:
        return False
    if n.kind in ("digits", "words") and v == int(v):
        return 0 <= v <= 24
    if n.kind == "digits":  # 10.30
        return v < 24 and (v - int(v)) * 100 < 60
    if n.kind == "parts":  # "five thirty" = 530
        return int(v) // 100 <= 24 and int(v) % 100 < 60
    return False


def whole_and_cents(ws: tuple[str, ...], n: Number) -> tuple[Decimal | None, Decimal | None]:
    """ "five hundred and fifty (paise)": (500, 50), split at the last "and"."""
    if n.split is None:
        return None, n.value
    whole = read_number(ws[: n.split], n.start)
    cents = read_number(ws[: n.end], n.split + 1) if starts_number(ws, n.split + 1) else None
    return whole.value, cents.value if cents is not None else None
