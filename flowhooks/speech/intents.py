"""Intents by example phrases, matched fuzzily with rapidfuzz (token-based, so word order
and one misheard word matter little). Everything is prepared once, at start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from flowhooks.speech.normalize import normalize

NONE = "none"


@dataclass(frozen=True)
class Match:
    intent: str
    confidence: float  # 0-1


def _score(query: str, example: str, **_: object) -> float:
    """Word order free (token sort) with a pull towards shared words (token set, damped so a
    one-word text does not match every example containing that word)."""
    return max(fuzz.token_sort_ratio(query, example), 0.9 * fuzz.token_set_ratio(query, example))


class IntentSet:
    """One set's examples, normalised once; ``match`` does no set-up work."""

    def __init__(self, intents: Mapping[str, Sequence[str]]) -> None:
        self.examples: list[str] = []
        self.labels: list[str] = []
        for intent, phrases in intents.items():
            for phrase in phrases:
                self.examples.append(normalize(phrase))
                self.labels.append(intent)

    def match(self, text: str, threshold: float) -> Match:
        query = normalize(text)
        if not query or not self.examples:
            return Match(NONE, 0.0)
        best = process.extractOne(query, self.examples, scorer=_score, processor=None)
        if best is None:
            return Match(NONE, 0.0)
        _, score, index = best
        confidence = round(score / 100, 2)
        if confidence < threshold:
            return Match(NONE, confidence)
        return Match(self.labels[index], confidence)
