"""Backend ``rules`` (the default): intents from ``[nlu.intents.SET]`` example phrases,
matched fuzzily in-process (``flowhooks/speech/intents.py``); no entities of its own."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import aiohttp

from flowhooks.integrations.nlu import NluBackend, Understood
from flowhooks.plugins import BackendSettings
from flowhooks.speech.intents import IntentSet
from flowhooks.speech.normalize import MEMO_CHARS


class RulesSettings(BackendSettings):
    pass


class RulesNlu:
    name = "rules"

    def __init__(self, sets: Mapping[str, Mapping[str, list[str]]], threshold: float) -> None:
        self.sets = {name: IntentSet(intents) for name, intents in sets.items()}
        self.intent_sets = frozenset(self.sets)
        self.threshold = threshold
        # recognisers hand back the same few answers; a hit saves the ~10 µs match
        self._understand = lru_cache(maxsize=4096)(self._match)

    def _match(self, text: str, intent_set: str) -> Understood:
        found = self.sets[intent_set].match(text, self.threshold)
        return Understood(found.intent, found.confidence)

    async def parse(self, text: str, intent_set: str, message_id: str) -> Understood:
        if len(text) > MEMO_CHARS:  # long texts are not memoised: the cache stays small
            return self._match(text, intent_set)
        return self._understand(text, intent_set)

    async def close(self) -> None:
        return None


def build(
    conf: RulesSettings,
    sets: Mapping[str, Mapping[str, list[str]]],
    threshold: float,
    http: aiohttp.ClientSession,
) -> RulesNlu:
    return RulesNlu(sets, threshold)


BACKEND = NluBackend("rules", RulesSettings, build)
