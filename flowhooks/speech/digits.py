"""Spoken digits: "nine eight double seven" -> 9877, "triple five oh one" -> 55501.

No library reads "double"/"triple" (``word2number`` answers 79 for "nine eight double
seven"), so this is a small state machine over the words: digit words, ``oh``/``o``
beside other digits, ``double``/``triple`` before one, tens ("ninety eight"), and
digits already in the text. Not digits: an amount with its currency or multiplier
("two thousand", "rs 750"), a decimal, a day ("25th december 2026"), a time ("at 5"),
a count ("four digits"), a number said again ("forty five (45)").

The digits are one run of them; when the sentence has several runs apart ("pay 500
... my number is ..."), the run after an identifier's name ("number", "pin", ...) is
the one, and if that does not decide it, none is (a wrong value is worse than none).
"""

from __future__ import annotations

from flowhooks.speech.numbers import ID_WORDS
from flowhooks.speech.reading import Reading, read

UNITS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "nil": "0", "nought": "0",
    "to": "2", "too": "2", "for": "4", "won": "1", "ate": "8", "free": "3",
}  # fmt: skip
TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6",
    "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
REPEAT = {"double": 2, "triple": 3, "treble": 3}
OH = frozenset({"oh", "o"})
# words that are digits only between other spoken digits ("nine to seven" is not)
BETWEEN = frozenset({"to", "too", "for", "won", "ate", "free"})
# "one" that is not a digit: "no one", "which one", "one more"
ONE_BEFORE = frozenset({"no", "which", "this", "that", "the", "any", "every", "some", "each"})
ONE_AFTER = frozenset({"more", "moment", "thing", "of", "by", "another", "day"})
SKIP = ""  # a word that is not part of any digits
_DIGIT_WORDS = frozenset({*UNITS, *TEENS, *TENS, *REPEAT, *OH})


def extract_digits(text: str) -> str:
    """Every spoken or written digit of the one run said; empty when there is none."""
    return digits_of(read(text))


def digits_of(r: Reading) -> str:
    ws = _digit_words(r)
    runs: list[tuple[str, bool]] = []  # (digits, after an identifier's name)
    current: list[str] = []
    start = 0
    i = 0
    while i < len(ws):
        w = ws[i]
        got, used = _digits_at(ws, i) if w in _DIGIT_WORDS or w.isdigit() else ("", 1)
        if got:
            if not current:
                start = i
            current.append(got)
        elif current:
            runs.append(("".join(current), _after_id(ws, start)))
            current = []
        i += used
    if current:
        runs.append(("".join(current), _after_id(ws, start)))
    if len(runs) <= 1:
        return runs[0][0] if runs else ""
    named = [d for d, after_id in runs if after_id]
    return named[0] if len(named) == 1 else ""


def _after_id(ws: list[str], start: int) -> bool:
    return any(w in ID_WORDS for w in ws[max(0, start - 3) : start])


def _digit_words(r: Reading) -> list[str]:
    """The words, with those that are not digits blanked (days, amounts, times...)."""
    ws = list(r.words)
    for day in r.days:
        if not (day.end - day.start == 1 and ws[day.start].isdigit()):  # "08122019" stays
            ws[day.start : day.end] = [SKIP] * (day.end - day.start)
    for s in r.numbers:
        n = s.number
        not_digits = s.role in ("money", "time", "count") or s.restated or s.vague
        if not_digits or n.kind == "scaled" or (n.kind == "digits" and "." in ws[n.start]):
            ws[n.start : n.end] = [SKIP] * (n.end - n.start)
    for i, w in enumerate(ws if "one" in r.words else ()):
        if w == "one" and (
            (i and ws[i - 1] in ONE_BEFORE) or (i + 1 < len(ws) and ws[i + 1] in ONE_AFTER)
        ):
            ws[i] = SKIP
    return ws


def _digit(word: str) -> str | None:
    if word in UNITS:
        return UNITS[word]
    if word in OH:
        return "0"
    return None


def _spoken_digit(word: str | None) -> bool:
    return word is not None and (
        (word in UNITS and word not in BETWEEN) or word in REPEAT or word in TENS
        or word in TEENS or word in OH
    )  # fmt: skip


def _digits_at(ws: list[str], i: int) -> tuple[str, int]:
    """(digits, words used) at ws[i]; ("", 1) for a word that is not a digit."""
    w = ws[i]
    nxt = ws[i + 1] if i + 1 < len(ws) else None
    prev = ws[i - 1] if i else None
    if w in REPEAT and nxt is not None and (_digit(nxt) is not None or nxt.isdigit()):
        return (_digit(nxt) or nxt) * REPEAT[w], 2
    if w in TENS:
        unit = UNITS.get(nxt or "") if nxt not in BETWEEN else None
        return TENS[w] + (unit or "0"), 2 if unit else 1
    if w in TEENS:
        return TEENS[w], 1
    if w.isdigit():
        return w, 1
    if w in BETWEEN:
        return (UNITS[w], 1) if _spoken_digit(prev) and _spoken_digit(nxt) else ("", 1)
    if w in OH:
        near = _spoken_digit(prev) or _spoken_digit(nxt) or (nxt or "").isdigit()
        return ("0", 1) if near or (prev or "").isdigit() else ("", 1)
    if w in UNITS:
        return UNITS[w], 1
    return "", 1
