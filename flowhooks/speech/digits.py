"""Spoken digits: "nine eight double seven" -> 9877, "triple five oh one" -> 55501.

No library reads "double"/"triple" (``word2number`` answers 79 for "nine eight double
seven"), so this is a small state machine over the words: digit words, ``oh``/``o``
beside other digits, ``double``/``triple`` before one, tens ("ninety eight"), and
digits already in the text. Digits of an amount ("two thousand") are not digits.
"""

from __future__ import annotations

from flowhooks.speech.normalize import words

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
MAGNITUDES = frozenset(
    {"hundred", "thousand", "lakh", "lakhs", "lac", "crore", "crores", "million", "billion"}
)
COUNTED = frozenset({"digit", "digits", "numbers", "times", "days", "months", "years"})
# words that look like digits only when they sit among other digits
_SOFT = frozenset({"to", "too", "for", "won", "ate", "free", *OH})


def _digit(word: str) -> str | None:
    if word in UNITS:
        return UNITS[word]
    if word in OH:
        return "0"
    return None


def _is_digitish(word: str | None) -> bool:
    return word is not None and (
        word.isdigit() or (word in UNITS and word not in _SOFT) or word in REPEAT
        or word in TENS or word in TEENS
    )  # fmt: skip


def extract_digits(text: str) -> str:
    """Every spoken or written digit, in order; empty when there are none."""
    ws = words(text)
    out: list[str] = []
    i = 0
    while i < len(ws):
        w, nxt = ws[i], ws[i + 1] if i + 1 < len(ws) else None
        prev = ws[i - 1] if i else None
        if nxt in MAGNITUDES or nxt in COUNTED:  # "two thousand", "four digits": not digits
            i += 2
            continue
        if w in REPEAT and nxt is not None and (_digit(nxt) is not None or nxt.isdigit()):
            out.append((_digit(nxt) or nxt) * REPEAT[w])
            i += 2
            continue
        if w in TENS:
            unit = UNITS.get(nxt or "") if nxt not in _SOFT else None
            out.append(TENS[w] + (unit or "0"))
            i += 2 if unit else 1
            continue
        if w in TEENS:
            out.append(TEENS[w])
        elif w.isdigit():
            out.append(w)
        elif w in _SOFT:
            if _is_digitish(prev) or _is_digitish(nxt):
                out.append(_digit(w) or UNITS[w])
        elif w in UNITS:
            out.append(UNITS[w])
        i += 1
    return "".join(out)
