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


SET_WEIGHT = 0.9  # token-set similarity, damped: one shared word is not a match


class IntentSet:
    """One set's examples, normalised once; ``match`` does no set-up work."""

    def __init__(self, intents: Mapping[str, Sequence[str]]) -> None:
        self.examples: list[str] = []
        self.sorted_examples: list[str] = []  # words sorted once: token sort = plain ratio
        self.labels: list[str] = []
        for intent, phrases in intents.items():
            for phrase in phrases:
                example = normalize(phrase)
                self.examples.append(example)
                self.sorted_examples.append(" ".join(sorted(example.split())))
                self.labels.append(intent)

    def match(self, text: str, threshold: float) -> Match:
        query = normalize(text)
        if not query or not self.examples:
            return Match(NONE, 0.0)
        # the best of word-order-free similarity (token sort) and a damped pull towards
        # shared words (token set); max over examples of max(a, 0.9 b) is the larger of
        # the two bests, so each scorer runs natively over all examples once
        by_sort = process.extractOne(
            query, self.examples, scorer=fuzz.token_sort_ratio, processor=None
        )
        by_set = process.extractOne(
            query, self.examples, scorer=fuzz.token_set_ratio, processor=None
        )
        if by_sort is None or by_set is None:
            return Match(NONE, 0.0)
        if by_sort[1] >= SET_WEIGHT * by_set[1]:
            score, index = by_sort[1], by_sort[2]
        else:
            score, index = SET_WEIGHT * by_set[1], by_set[2]
        confidence = round(score / 100, 2)
        if confidence < threshold:
            return Match(NONE, confidence)
        return Match(self.labels[index], confidence)
