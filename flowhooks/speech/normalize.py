"""normalizedText: lower case, punctuation and fillers gone, number words as digits.

``words`` is the one tokeniser every extractor reads. It keeps what punctuation means
in numbers and dates: a decimal point ("2.5", ".77"), a date's separators ("8-12-2019",
"2019-12-08", "25/12"), a clock's colon ("10:30"), and currency symbols as words of
their own ("₹20" -> "₹", "20"); letters stuck to digits come apart ("rs20", "5k"),
except an ordinal's ending ("15th").
"""

from __future__ import annotations

import re
from functools import lru_cache

from text_to_num import alpha2digit

FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "hm", "mm", "mmm"})
MAX_CHARS = 2000
_GROUPED = re.compile(r"(?<=\d),(?=\d)")  # 1,20,000 and 120,000: one number
_TOKEN = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:t\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"  # ISO
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?!\d)"  # 8-12-2019, 8/12/19, 8.12.19
    r"|\d{1,2}[-/]\d{1,2}(?![-/\d])"  # 25/12, 25-12 (a dot there is a decimal point)
    r"|\d{1,2}:\d{2}(?::\d{2})?"  # a clock time
    r"|\d+(?:st|nd|rd|th)(?![a-z])"  # an ordinal
    r"|(?<![^\s(])-(?=\s?\.?\d)"  # a minus sign: "-504", "- 1,200,000"
    r"|[a-z]+\d+(?:\.\d+)?(?![\d.])|(?:\d+(?:\.\d+)?|(?<!\S)\.\d+)[a-z]+"  # "rs20", "5k"
    r"|\d+(?:\.\d+)?|(?<!\S)\.\d+"  # a number, ".77" (not "rs.20")
    r"|[ap]\.m\.?"  # a.m., p.m.
    r"|[^\W\d_]+"  # a word, in any script
    r"|[₹$€£¢%]"
)
_GLUED = re.compile(r"([a-z]+)(\d+(?:\.\d+)?)|(\d*\.?\d+)([a-z]+)")
# what may be stuck to a number and still be read ("rs20", "20rs", "5k", "2.5l", "5pm");
# anything else stuck to one ("3m", ".0012g", "covid19") is one word, not a number
STUCK = frozenset({
    "rs", "inr", "usd", "cad", "aud", "sgd", "eur", "gbp", "rm", "myr", "aed", "chf",
    "k", "l", "lakh", "lakhs", "lac", "lacs", "lkh", "lkhs", "cr", "crore", "crores",
    "mn", "bn", "c", "p", "am", "pm", "hrs", "hr", "h", "min", "mins", "kg", "km", "us",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
_SYMBOLS = frozenset("₹$€£")
_A_MAGNITUDE = re.compile(r"\ba (hundred|thousand|lakh|lac|crore|million|billion)\b")
_SPELLED = {
    "a.m": "am", "a.m.": "am", "p.m": "pm", "p.m.": "pm", "%": "percent", "¢": "cents",
    "-": "minus",
}  # fmt: skip

MEMO_CHARS = 256  # texts memoised (4,096 of them: ~2 MB at most); longer ones are computed


def words(text: str) -> tuple[str, ...]:
    """Lower-case words without punctuation or fillers; digits grouping removed."""
    return _words(text) if len(text) <= MEMO_CHARS else _words.__wrapped__(text)


def normalize(text: str) -> str:
    """``normalizedText``: ``"Um, two thousand five-hundred, please!"`` -> ``"2500 please"``."""
    return _normalize(text) if len(text) <= MEMO_CHARS else _normalize.__wrapped__(text)


@lru_cache(maxsize=4096)  # every extractor reads the same text's words in one request
def _words(text: str) -> tuple[str, ...]:
    lowered = _GROUPED.sub("", text[:MAX_CHARS].lower().replace("\u2019", "'"))
    lowered = lowered.replace("'", "")  # that's -> thats, don't -> dont
    out: list[str] = []
    pieces = lowered.split()
    for k, piece in enumerate(pieces):
        if piece.isalpha():  # most of them: a plain word, no regex needed
            if piece not in FILLERS:
                out.append(piece)
        elif piece == "-" and k + 1 < len(pieces) and pieces[k + 1][:1].isdigit():
            out.append("minus")  # "- 1,200,000"
        else:
            out.extend(_tokens(piece))
    return tuple(out)


def _tokens(piece: str) -> list[str]:
    """The words of one whitespace-free piece: "₹2.5l," -> ["₹", "2.5", "l"]."""
    out = []
    for w in _TOKEN.findall(piece):
        if w in FILLERS:
            continue
        glued = None if w.isalpha() or w.isdigit() else _GLUED.fullmatch(w)
        if glued is None:
            out.append(_SPELLED.get(w, w))
        elif glued.group(1) in STUCK or glued.group(4) in STUCK:
            out.extend(g for g in glued.groups() if g)
        else:
            out.append(w)
    return out


@lru_cache(maxsize=4096)  # recognisers repeat the same short answers
def _normalize(text: str) -> str:
    plain = " ".join(w for w in words(text) if w not in _SYMBOLS)
    plain = _A_MAGNITUDE.sub(r"one \1", plain)
    return " ".join(alpha2digit(plain, "en", threshold=0).split())
