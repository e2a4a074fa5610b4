"""Numbers as callers say them, read one way or not at all.

A *number* is a run of words that reads as one value: digits ("2.5", ".77"), words
("twenty five"), both with multipliers ("5 thousand", "one lakh twenty thousand",
"2.5 crore", "two dozen", "a couple of hundred", "one and a half lakh"), a decimal said
with "point" ("two point two million"), or a number said in parts ("one twenty two" =
122, "nineteen ninety nine" = 1999) when the parts allow no other reading. A run that
cannot be combined one way ("five thousand two lakh", "nine eight" said as an amount)
has no value: the caller said a number, but which one is not sure.

No library reads these the way Indian and US callers say them (``text2num`` reads
"5 thousand" as 5 and 1000 and leaves lakh and crore alone), so this is a small
grammar over ``normalize.words``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_THOUSAND, _LAKH, _CRORE = Decimal(10) ** 3, Decimal(10) ** 5, Decimal(10) ** 7
_MILLION, _BILLION = Decimal(10) ** 6, Decimal(10) ** 9
SCALES = {
    "thousand": _THOUSAND, "thousands": _THOUSAND, "grand": _THOUSAND, "k": _THOUSAND,
    "lakh": _LAKH, "lakhs": _LAKH, "lac": _LAKH, "lacs": _LAKH, "hazaar": _THOUSAND,
    "hazar": _THOUSAND, "hajar": _THOUSAND,
    "lkh": _LAKH, "lkhs": _LAKH, "lack": _LAKH, "lacks": _LAKH, "l": _LAKH,
    "crore": _CRORE, "crores": _CRORE, "cr": _CRORE, "crs": _CRORE, "krore": _CRORE,
    "krores": _CRORE, "kr": _CRORE, "koti": _CRORE, "karod": _CRORE, "karor": _CRORE,
    "million": _MILLION, "millions": _MILLION, "mn": _MILLION,
    "billion": _BILLION, "billions": _BILLION, "bn": _BILLION,
}  # fmt: skip
# short forms that are a multiplier only right after digits ("2.5L", "5 mn"), never alone
AFTER_DIGITS_ONLY = frozenset({"l", "lack", "lacks", "mn", "bn"})
# "l" is a lakh only at the end or before the money's name ("30 l", "2.5L rupees"), not
# in "42 L.E" (Egyptian pounds)
L_BEFORE = frozenset({"", "rupees", "rs", "inr", "only", "please"})
HUNDRED = frozenset({"hundred", "hundreds", "sau"})
# Hindi numbers, read only before a multiplier ("do hazaar", "paanch sau", "dedh lakh"):
# alone, "do" and "teen" are English words
HINDI = {w: Decimal(v) for w, v in {
    "ek": "1", "do": "2", "teen": "3", "char": "4", "chaar": "4", "paanch": "5", "panch": "5",
    "chhe": "6", "che": "6", "saat": "7", "aath": "8", "nau": "9", "das": "10", "dedh": "1.5",
    "dhai": "2.5", "dhaai": "2.5", "sawa": "1.25",
}.items()}  # fmt: skip
DOZEN = frozenset({"dozen", "dozens"})
POINT = frozenset({"point", "dot"})
DIGIT_WORDS = {**{w: str(v) for w, v in UNITS.items()}, "oh": "0", "o": "0", "nought": "0"}
# a number after these (within three words) is an identifier: "my pin is 4421"
ID_WORDS = frozenset({
    "number", "no", "pin", "otp", "id", "account", "acct", "mobile", "phone", "card",
    "policy", "order", "customer", "reference", "ref", "ticket", "pnr", "aadhaar", "aadhar",
    "code", "extension", "ext", "flat", "option", "serial", "imei", "model", "roll",
})  # fmt: skip
# the words a number can start with (besides digits)
STARTS = frozenset({*UNITS, *TEENS, *TENS, *HINDI, "a", "an", "half", *POINT})
NUMBER_TOKEN = re.compile(r"\d+(?:\.\d+)?|\.\d+")
MAX_DIGITS = 18  # a value with more integer digits than this is not an amount anyone said


@dataclass(slots=True)  # not frozen (never changed once made): 3x cheaper to build
class Number:
    """A number said at words[start:end]."""

    start: int
    end: int
    value: Decimal | None  # None: a number was said, but not one that reads one way
    kind: str  # digits | words | scaled | parts | string (digit by digit: "nine eight")
    split: int | None = None  # the last "and" of "five hundred and fifty" (for "paise")


# An atom is one step of a number: (what, value, width) -- width 1 or 2 for small words
# ("five" is one digit wide, "twenty five" two: the parts of "one twenty two" must be two).
Atom = tuple[str, Decimal, int]


def starts_number(ws: tuple[str, ...], i: int) -> bool:
    """Whether a number can start at words[i]."""
    w = ws[i]
    if w not in STARTS and not ("0" <= w[0] <= "9" or w[0] == "."):
        return False  # most words: one set lookup
    if w in UNITS or w in TEENS or w in TENS or (w not in STARTS and NUMBER_TOKEN.fullmatch(w)):
        return True
    nxt = ws[i + 1] if i + 1 < len(ws) else ""
    if w in ("a", "an"):
        return nxt in HUNDRED or nxt in DOZEN or nxt in ("couple", "pair") or _multiplies(nxt)
    if w == "half":
        return nxt in ("a", "an") and i + 2 < len(ws) and _multiplies(ws[i + 2])
    if w in HINDI:
        return _multiplies(nxt)
    return w in POINT and _fraction(ws, i + 1)[1] > i + 1


class Words(tuple[str, ...]):
    """The words of one text, remembering the number read at each position: days,
    amounts and digits ask for the same numbers, and each is read once."""

    def number_at(self, i: int) -> Number | None:
        memo: dict[int, Number | None] = self.__dict__.setdefault("numbers", {})
        if i not in memo:
            memo[i] = read_number(self, i) if i < len(self) and starts_number(self, i) else None
        return memo[i]


def number_at(ws: tuple[str, ...], i: int) -> Number | None:
    """The number starting at words[i], or None."""
    if isinstance(ws, Words):
        return ws.number_at(i)
    return read_number(ws, i) if i < len(ws) and starts_number(ws, i) else None


def read_number(ws: tuple[str, ...], i: int) -> Number:
    """The number starting at words[i] (``starts_number`` is true there)."""
    atoms: list[Atom] = []
    j, split = i, None
    while j < len(ws):
        step = _atom(ws, j, atoms)
        if step is None:
            break
        if step[0][0] == "and":
            split = j
        atoms.append(step[0])
        j = step[1]
    value, kind = _evaluate(atoms)
    return Number(i, j, value, kind, split)


def _scale(word: str, previous: str, following: str) -> Decimal | None:
    """The multiplier ``word`` names after ``previous`` (an atom kind, "" for none)."""
    m = SCALES.get(word)
    if m is None or (word in AFTER_DIGITS_ONLY and previous != "digits"):
        return None
    return None if word == "l" and following not in L_BEFORE else m


def _multiplies(word: str) -> bool:
    return word in HUNDRED or word in DOZEN or (word in SCALES and word not in AFTER_DIGITS_ONLY)


def _fraction(ws: tuple[str, ...], i: int) -> tuple[str, int]:
    """The digits said after "point" from words[i]: ("77", next index)."""
    out, j = "", i
    while j < len(ws):
        w = ws[j]
        if w in DIGIT_WORDS:
            out, j = out + DIGIT_WORDS[w], j + 1
        elif w in TEENS:
            out, j = out + str(TEENS[w]), j + 1
        elif w in TENS:
            unit = UNITS.get(ws[j + 1], 0) if j + 1 < len(ws) else 0
            out, j = out + str(TENS[w] + unit), j + (2 if unit else 1)
        elif w.isdigit():
            out, j = out + w, j + 1
        else:
            break
    return out, j


def _small(ws: tuple[str, ...], i: int) -> tuple[Atom, int] | None:
    """A word number under 100 at words[i]: "five" (1 wide), "twenty five" (2 wide)."""
    w = ws[i]
    if w in UNITS:
        return ("small", _DECIMALS[UNITS[w]], 1), i + 1
    if w in TEENS:
        return ("small", _DECIMALS[TEENS[w]], 2), i + 1
    if w in TENS:
        unit = UNITS.get(ws[i + 1], 0) if i + 1 < len(ws) else 0
        return ("small", _DECIMALS[TENS[w] + unit], 2), i + (2 if unit else 1)
    return None


_DECIMALS = [Decimal(v) for v in range(100)]  # the small words' values, made once


def _atom(ws: tuple[str, ...], i: int, atoms: list[Atom]) -> tuple[Atom, int] | None:
    """The next step of the number at words[i], or None where the number ends.

    Digits may start a number or follow a multiplier ("1 lakh 20000"); words may not
    follow digits directly ("20 forty"), nor digits words: those are two numbers."""
    w, last = ws[i], atoms[-1][0] if atoms else ""
    if ("0" <= w[0] <= "9" or w[0] == ".") and NUMBER_TOKEN.fullmatch(w):
        return (("digits", Decimal(w), 0), i + 1) if last in ("", "scale", "and") else None
    if w in UNITS or w in TEENS or w in TENS:
        return _small(ws, i) if last in ("", "small", "hundred", "scale", "and") else None
    if w in HINDI and i + 1 < len(ws) and _multiplies(ws[i + 1]) and last in ("", "scale"):
        return ("small", HINDI[w], 1), i + 1  # "do hazaar", "dedh lakh"
    if w in HUNDRED:
        return (("hundred", Decimal(100), 0), i + 1) if last in ("small", "digits", "one") else None
    if w in DOZEN:
        after = last in ("small", "digits", "one", "hundred")
        return (("dozen", Decimal(12), 0), i + 1) if after else None
    m = _scale(w, last, ws[i + 1] if i + 1 < len(ws) else "")
    if m is not None:
        return (("scale", m, 0), i + 1) if last and last != "and" else None
    if w in POINT and last in ("", "small", "digits"):
        digits, j = _fraction(ws, i + 1)
        return (("fraction", Decimal("0." + digits), 0), j) if digits else None
    return _joining(ws, i, last)


def _joining(ws: tuple[str, ...], i: int, last: str) -> tuple[Atom, int] | None:
    """ "a"/"an" before a multiplier ("a lakh", "a couple of hundred"), "half a", "and"
    inside a number ("five hundred and fifty", "one and a half")."""
    w, nxt = ws[i], ws[i + 1] if i + 1 < len(ws) else ""
    if w in ("a", "an") and last in ("", "and") and starts_number(ws, i):
        if nxt in ("couple", "pair"):
            return ("small", Decimal(2), 1), i + (3 if ws[i + 2 : i + 3] == ("of",) else 2)
        return ("one", Decimal(1), 1), i + 1
    if w == "half" and not last and starts_number(ws, i):
        return ("small", Decimal("0.5"), 1), i + 2  # "half a million"
    if w != "and":
        return None
    if last in ("small", "digits") and nxt == "half":
        return ("half", Decimal("0.5"), 0), i + 2
    if last in ("small", "digits") and ws[i + 1 : i + 3] == ("a", "half"):
        return ("half", Decimal("0.5"), 0), i + 3
    if last in ("hundred", "scale") and (
        nxt in UNITS or nxt in TEENS or nxt in TENS or nxt.isdigit()
    ):
        return ("and", Decimal(0), 0), i + 1
    return None


def _evaluate(atoms: list[Atom]) -> tuple[Decimal | None, str]:  # noqa: C901
    """The value of a number's atoms and its kind (see ``Number``)."""
    if all(a[0] == "small" for a in atoms):
        return _plain_words(atoms)
    if len(atoms) == 1 and atoms[0][0] == "digits":
        return atoms[0][1], "digits"
    total, group, after_hundred, last_scale = Decimal(0), None, False, None
    for what, value, _ in atoms:
        if what in ("small", "digits", "one"):
            if group is not None and not (after_hundred and value < 100):
                return None, "scaled"
            group = value if group is None else group + value
            after_hundred = False
        elif what == "hundred":
            if group is None or group >= 100 or group != int(group):
                return None, "scaled"
            group, after_hundred = group * 100, True
        elif what == "scale":
            if group is None and last_scale is not None and value > last_scale:
                total, last_scale = total * value, value  # "5 thousand crore"
                continue
            if group is None or (last_scale is not None and value >= last_scale):
                return None, "scaled"
            total, group, last_scale, after_hundred = total + group * value, None, value, False
        elif what == "dozen":
            if group is None:
                return None, "scaled"
            group = group * 12
        elif what in ("fraction", "half"):
            if group is not None and group != int(group):
                return None, "scaled"
            group = (group or Decimal(0)) + value
    if group is not None:
        if last_scale is not None and group >= last_scale:
            return None, "scaled"  # "1 lakh 200000"
        total += group
    return total, "scaled"


def _plain_words(atoms: list[Atom]) -> tuple[Decimal | None, str]:
    """Small words only: "twenty five" (one), "one twenty two" (parts), "nine eight"."""
    if len(atoms) == 1:
        return atoms[0][1], "words"
    if all(a[2] == 1 for a in atoms):
        return None, "string"  # digit by digit: digits, not an amount
    if any(a[2] != 2 for a in atoms[1:]):
        return None, "parts"  # "twenty five seven": no one reading
    text = str(int(atoms[0][1])) + "".join(f"{int(a[1]):02d}" for a in atoms[1:])
    return Decimal(text), "parts"


def fits(value: Decimal) -> bool:
    """Whether a value is small enough to answer (at most MAX_DIGITS integer digits)."""
    try:
        return value.adjusted() < MAX_DIGITS
    except InvalidOperation:
        return False
