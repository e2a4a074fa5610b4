"""Amounts: "two thousand five hundred" -> 2500, "one lakh twenty thousand" -> 120000,
"2.5 crore" -> 25000000, "rupees five hundred and fifty paise" -> 500.50, "₹20",
"20 rupees 43" -> 20.43, "3 CAD 3 cents" -> 3.03, "point 77" -> 0.77.

The rule: a wrong amount is worse than none. The amount is the one value the caller
said as money (a currency or sub-unit beside it), or else the one plain number in the
sentence; two different values, a number that reads more than one way, currencies
mixed, or a vague one ("two hundred and something") answer empty. Numbers that are
something else are not amounts: a day, a time ("at 5"), a count ("3 days"), an
identifier ("pin 4421"), a correction ("not 3000"), digits said one by one, a lone
digit word ("one"), a number with a leading zero, a bare number of ten or more digits.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flowhooks.speech.numbers import fits
from flowhooks.speech.reading import CURRENCIES, Reading, Spoken, read, whole_and_cents

HUNDREDTH = Decimal("0.01")
MAX_BARE_DIGITS = 9  # a bare number longer than this is a phone or account number
Money = tuple[Decimal, str | None, bool]  # value, currency named, said with cents


def extract_amount(text: str) -> str:
    """The amount said, as a decimal number (empty when there is none, or not one)."""
    return amount_of(read(text))


def amount_of(r: Reading) -> str:
    money: list[Money] = []
    plain: list[Decimal] = []
    spoken = r.numbers
    i = 0
    while i < len(spoken):
        s = spoken[i]
        if s.role == "money":
            found = _money(r, s, spoken[i + 1] if i + 1 < len(spoken) else None)
            if found is None:
                return ""  # said as money, but not one way
            money.append(found[0])
            i += found[1]
            continue
        if s.role == "plain" and _bare_amount(r, s):
            if s.number.value is None or s.vague:
                return ""  # a number was said, but not one way
            plain.append(s.number.value)
        i += 1
    money += _a_currency_alone(r)
    return _one(money, plain)


def _one(money: list[Money], plain: list[Decimal]) -> str:
    if len({c for _, c, _ in money if c is not None}) > 1:
        return ""  # currencies mixed
    values = {v for v, _, _ in money} | set(plain)
    if len(values) != 1:
        return ""  # none, or two different values
    if not money:
        return _text(plain[0], False)
    value, currency, cents = money[0]
    return _text(value, cents or (currency is not None and value != int(value)))


def _bare_amount(r: Reading, s: Spoken) -> bool:
    """Whether a plain number (no currency beside it) may be the amount."""
    n = s.number
    if s.restated or n.kind == "string":
        return False
    if n.kind in ("words", "digits") and n.value is not None and n.value < 10:
        if n.value == int(n.value):
            return False  # "one", "press 1": too often not an amount at all
    if n.kind == "digits":
        integer = r.words[n.start].split(".")[0]
        if len(integer) > 1 and integer.startswith("0"):
            return False  # "007", "0812": an identifier
        if len(integer) > MAX_BARE_DIGITS:
            return False
    return True


def _a_currency_alone(r: Reading) -> list[Money]:
    """ "a dollar", "a rupee" with no number after: one of it."""
    ws = r.words
    out: list[Money] = []
    if "a" not in ws and "an" not in ws:
        return out
    starts = {s.number.start for s in r.numbers}
    for i in range(len(ws) - 1):
        if ws[i] in ("a", "an") and ws[i + 1] in CURRENCIES and i + 2 not in starts:
            out.append((Decimal(1), CURRENCIES[ws[i + 1]], False))
    return out


def _money(r: Reading, s: Spoken, nxt: Spoken | None) -> tuple[Money, int] | None:
    """(the money said from ``s``, how many numbers it took), or None when it does not
    read one way. "20 rupees 43", "$20 43", "3 CAD 3 cents", "500 and 50 paise"."""
    value = s.number.value
    if s.vague or value is None:
        return None
    if s.cents:  # "a dollar fifty": one dollar, and this is its cents
        return _plus_cents(Decimal(1), CURRENCIES.get(r.words[s.number.start - 1]), s), 1
    if s.sub is not None:  # "fifty paise", "five hundred and fifty paise"
        whole, cents = whole_and_cents(r.words, s.number)
        if cents is None or cents >= 100:
            return None
        return ((whole or Decimal(0)) + cents * HUNDREDTH, None, True), 1
    if nxt is None or not nxt.cents:
        return (value, s.currency, False), 1
    if nxt.number.value is None or nxt.vague:
        return None
    if nxt.sub is not None and s.currency not in nxt.sub:
        return None  # "twenty dollars and fifty paise"
    return _plus_cents(value, s.currency, nxt), 2


def _plus_cents(whole: Decimal, currency: str | None, cents: Spoken) -> Money:
    return whole + (cents.number.value or Decimal(0)) * HUNDREDTH, currency, True


def _text(amount: Decimal, cents: bool) -> str:
    """2500, 20.5; with cents 500.50 (more decimals than two stay as said)."""
    try:
        if not fits(amount):
            return ""
        exponent = amount.as_tuple().exponent
        if cents and isinstance(exponent, int) and exponent >= -2:
            return str(amount.quantize(HUNDREDTH))
        if amount == amount.to_integral_value():
            return str(amount.quantize(Decimal(1)))
        return format(amount.normalize(), "f")
    except InvalidOperation:
        return ""
