"""normalizedText: lower case, punctuation and fillers gone, number words as digits."""

from __future__ import annotations

import re
from functools import lru_cache

from text_to_num import alpha2digit

FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "hm", "mm", "mmm"})
MAX_CHARS = 2000
_GROUPED = re.compile(r"(?<=\d),(?=\d)")  # 1,20,000 and 120,000: one number
_PUNCT = re.compile(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)|_")  # keep a decimal point
_A_MAGNITUDE = re.compile(r"\ba (hundred|thousand|lakh|lac|crore|million|billion)\b")


MEMO_CHARS = 256  # texts memoised (4,096 of them: ~2 MB at most); longer ones are computed


def words(text: str) -> tuple[str, ...]:
    """Lower-case words without punctuation or fillers; digits grouping removed."""
    return _words(text) if len(text) <= MEMO_CHARS else _words.__wrapped__(text)


def normalize(text: str) -> str:
    """``normalizedText``: ``"Um, two thousand five-hundred, please!"`` -> ``"2500 please"``."""
    return _normalize(text) if len(text) <= MEMO_CHARS else _normalize.__wrapped__(text)


@lru_cache(maxsize=4096)  # three extractors read the same text's words in one request
def _words(text: str) -> tuple[str, ...]:
    lowered = _GROUPED.sub("", text[:MAX_CHARS].lower().replace("\u2019", "'"))
    lowered = lowered.replace("'", "")  # that's -> thats, don't -> dont
    return tuple(w for w in _PUNCT.sub(" ", lowered).split() if w not in FILLERS)


@lru_cache(maxsize=4096)  # recognisers repeat the same short answers
def _normalize(text: str) -> str:
    plain = " ".join(words(text))
    plain = _A_MAGNITUDE.sub(r"one \1", plain)
    return " ".join(alpha2digit(plain, "en", threshold=0).split())
