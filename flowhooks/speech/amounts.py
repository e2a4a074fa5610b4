"""Amounts: "two thousand five hundred" -> 2500, "one lakh twenty thousand" -> 120000,
"2.5 crore" -> 25000000, "rupees five hundred and fifty paise" -> 500.50, "1,20,000".

English number words go through ``text2num`` (via ``normalize``); it leaves the Indian
magnitudes ``lakh`` and ``crore`` (and ``k``) alone, and they are applied here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flowhooks.speech.normalize import normalize, words

MAGNITUDE = {
    "hundred": Decimal(100), "thousand": Decimal(1000), "k": Decimal(1000),
    "lakh": Decimal(10) ** 5, "lakhs": Decimal(10) ** 5, "lac": Decimal(10) ** 5,
    "lacs": Decimal(10) ** 5, "crore": Decimal(10) ** 7, "crores": Decimal(10) ** 7,
    "cr": Decimal(10) ** 7, "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
}  # fmt: skip
CURRENCY = frozenset({"rupees", "rupee", "rs", "inr", "dollars", "dollar", "bucks"})
PAISE = frozenset({"paise", "paisa", "paisay", "cents", "cent"})
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_STUCK = re.compile(r"^(\d+(?:\.\d+)?)(k|cr|lakh|lakhs|crore|crores)$")  # "5k", "2cr"
MAX_DIGITS = 18


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in normalize(text).split():
        stuck = _STUCK.match(word)
        out.extend(stuck.groups() if stuck else (word,))
    return out


def _value(tokens: list[str]) -> Decimal | None:
    """The first number in ``tokens`` with its magnitudes: "1 lakh 20000" -> 120000."""
    total, current, seen, started = Decimal(0), None, False, False
    for tok in tokens:
        if _NUMBER.fullmatch(tok):
            if current is not None:  # "1 lakh 20000": the lakh part is done
                total += current
            current, seen, started = Decimal(tok), True, True
        elif tok in MAGNITUDE and started:
            current = (current if current is not None else Decimal(1)) * MAGNITUDE[tok]
            if MAGNITUDE[tok] >= 1000:
                total, current = total + current, None
        elif tok in CURRENCY or tok in ("and", "only"):
            continue
        elif started:
            break  # the amount ended at the first other word
    if not seen:
        return None
    return total + (current or Decimal(0))


def _text(amount: Decimal, cents: bool) -> str:
    if cents:
        return f"{amount.quantize(Decimal('0.01'))}"
    if amount == amount.to_integral_value():
        return str(amount.quantize(Decimal(1)))
    return format(amount.normalize(), "f")


def _split_paise(raw: tuple[str, ...], at: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(rupee words, paise words) of the words before ``paise``: split at the last "and"
    (before text2num would join "five hundred and fifty"), else after a currency word."""
    before = raw[:at]
    if "and" in before:
        cut = len(before) - 1 - before[::-1].index("and")
        return before[:cut], before[cut + 1 :]
    for i in range(len(before) - 1, 0, -1):
        if before[i] in CURRENCY:
            return before[:i], before[i + 1 :]
    return (), before


def extract_amount(text: str) -> str:
    """The amount said, as a decimal number (empty when there is none)."""
    raw = words(text)
    paise_at = next((i for i, w in enumerate(raw) if w in PAISE), None)
    if paise_at is None:
        value = _value(_tokens(text))  # normalize(text): the handler's, already cached
        return "" if value is None else _checked(value, False)
    rupees, paise = _split_paise(raw, paise_at)
    whole = _value(_tokens(" ".join(rupees))) if rupees else None
    cents = _value(_tokens(" ".join(paise))) if paise else None
    if whole is None and cents is None:
        return ""
    return _checked((whole or Decimal(0)) + (cents or Decimal(0)) / 100, True)


def _checked(value: Decimal, cents: bool) -> str:
    try:
        if value.adjusted() >= MAX_DIGITS:
            return ""
        return _text(value, cents)
    except InvalidOperation:
        return ""
