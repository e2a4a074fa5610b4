"""Yes or no, in English and common Hinglish, negation aware ("not really" is no).

Not sure is neither: "I don't know", "not sure", "no idea", "maybe" answer empty (a
wrong value is worse than none), and so do words that are a yes or a no only when
they are the whole answer: "cancel my order" is not a no, "... 2,45,000 right" is not
a yes."""

from __future__ import annotations

import re

from flowhooks.speech.normalize import words

YES_PHRASES = (
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "sure", "correct",
    "thats right", "absolutely", "definitely", "of course", "ok", "okay", "fine",
    "alright", "affirmative", "go ahead", "please do", "i do", "i agree", "agreed",
    "confirm", "confirmed", "exactly", "true", "certainly", "haan", "han", "haa", "ha ji",
    "haan ji", "ji haan", "ji han", "ji", "bilkul", "theek hai", "thik hai", "sahi",
    "sahi hai", "zaroor", "hanji", "accha", "acha", "no problem", "no worries",
    "why not", "not a problem",
)  # fmt: skip
NO_PHRASES = (
    "no", "nope", "nah", "nay", "never", "negative", "wrong", "incorrect", "not really",
    "not right", "not at all",
    "no thanks", "no thank you", "dont", "do not", "not now", "not interested",
    "i dont", "nahin", "nahi", "nai", "na", "mat", "galat",
    "bilkul nahin", "bilkul nahi", "nahi chahiye", "nahin chahiye", "rehne do",
)  # fmt: skip
UNSURE_PHRASES = (
    "not sure", "dont know", "do not know", "no idea", "maybe", "not certain", "let me think",
    "let me check", "i think", "perhaps", "pata nahi", "pata nahin",
)  # fmt: skip
# a yes or a no only as (nearly) the whole answer, or its first word
ALONE = {"cancel": "no", "stop": "no", "right": "yes"}
NEGATORS = frozenset({"not", "dont", "never", "no", "nahin", "nahi", "isnt", "wasnt", "aint"})


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation, longest phrase first: the earliest match, the longest where two
    start at the same word."""
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\S)")


_YES, _NO = _pattern(YES_PHRASES), _pattern(NO_PHRASES)
_UNSURE = _pattern(UNSURE_PHRASES)
_FIRST_WORDS = frozenset(
    phrase.split()[0] for phrase in (*YES_PHRASES, *NO_PHRASES, *UNSURE_PHRASES, *ALONE)
)


def _find(text: str, pattern: re.Pattern[str]) -> tuple[int, int] | None:
    """(word index, words) of the earliest phrase in ``text`` (words joined by spaces)."""
    m = pattern.search(text)
    if m is None:
        return None
    return text.count(" ", 0, m.start()), m.group().count(" ") + 1


def extract_yes_no(text: str) -> str:
    """``yes``, ``no`` or empty; a negated yes ("not correct", "not sure") is no."""
    ws = words(text)
    if _FIRST_WORDS.isdisjoint(ws):
        return ""  # no phrase can start anywhere: three searches saved
    joined = " ".join(ws)
    unsure = _find(joined, _UNSURE)
    if unsure is not None:
        return _before(ws[: unsure[0]])
    if ws and ws[0] in ALONE and (len(ws) <= 2 or ws[0] == "right"):
        return ALONE[ws[0]]
    return _judged(ws, joined)


def _before(ws: tuple[str, ...]) -> str:
    """Yes or no said before the caller went on to be unsure ("no, I'm not sure" is no);
    else empty."""
    cut = tuple(w for w in ws if w not in ("i", "im", "am"))
    return _judged(cut, " ".join(cut)) if cut else ""


def _judged(ws: tuple[str, ...], joined: str) -> str:
    yes, no = _find(joined, _YES), _find(joined, _NO)
    if yes is None:
        return "no" if no is not None else ""
    if yes[0] > 0 and ws[yes[0] - 1] in NEGATORS and yes[1] == 1:
        return "no"  # "not correct", "not sure", "no, not really sure"
    after = yes[0] + yes[1]
    if after < len(ws) and ws[after] == "not":
        return "no"  # "of course not", "sure not"
    if no is None:
        return "yes"
    if yes[0] == no[0]:  # "no problem" (yes) against "no" (no): the longer phrase
        return "yes" if yes[1] > no[1] else "no"
    return "yes" if yes[0] < no[0] else "no"
