"""Yes or no, in English and common Hinglish, negation aware ("not really" is no)."""

from __future__ import annotations

from flowhooks.speech.normalize import words

YES_PHRASES = (
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "sure", "correct", "right",
    "thats right", "absolutely", "definitely", "of course", "ok", "okay", "fine",
    "alright", "affirmative", "go ahead", "please do", "i do", "i agree", "agreed",
    "confirm", "confirmed", "exactly", "true", "certainly", "haan", "han", "haa", "ha ji",
    "haan ji", "ji haan", "ji han", "ji", "bilkul", "theek hai", "thik hai", "sahi",
    "sahi hai", "zaroor", "hanji", "accha", "acha", "no problem", "no worries",
    "why not", "not a problem",
)  # fmt: skip
NO_PHRASES = (
    "no", "nope", "nah", "nay", "never", "negative", "wrong", "incorrect", "not really",
    "no thanks", "no thank you", "dont", "do not", "not now", "not interested",
    "i dont", "cancel", "stop", "nahin", "nahi", "nai", "na", "mat", "galat",
    "bilkul nahin", "bilkul nahi", "nahi chahiye", "nahin chahiye", "rehne do",
)  # fmt: skip
NEGATORS = frozenset({"not", "dont", "never", "no", "nahin", "nahi", "isnt", "wasnt", "aint"})


def _find(ws: list[str], phrases: tuple[str, ...]) -> tuple[int, int] | None:
    """(index, words) of the earliest phrase in ``ws`` (the longest where two start)."""
    best = None
    for phrase in phrases:
        parts = phrase.split()
        for i in range(len(ws) - len(parts) + 1):
            if ws[i : i + len(parts)] == parts:
                if best is None or (i, -len(parts)) < (best[0], -best[1]):
                    best = (i, len(parts))
                break
    return best


def extract_yes_no(text: str) -> str:
    """``yes``, ``no`` or empty; a negated yes ("not correct", "not sure") is no."""
    ws = words(text)
    yes, no = _find(ws, YES_PHRASES), _find(ws, NO_PHRASES)
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
