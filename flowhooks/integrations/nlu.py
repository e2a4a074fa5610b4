"""The Nlu seam: what a caller's words mean, as an intent and entities (SPEC 2.10).

Backends are found by name in ``NLU_BACKENDS`` (``[nlu] backend``): the built-ins and
the ``flowhooks.nlu`` entry-point group. A backend module exports an ``NluBackend``
as ``BACKEND``: its settings model (the other keys of ``[nlu]``) and how to build it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel

from flowhooks.plugins import Backends


@dataclass(frozen=True)
class Understood:
    intent: str  # "none" under the threshold
    confidence: float
    entities: Mapping[str, str] = field(default_factory=dict)  # digits, amount, date, yes_no


class NluFailed(Exception):
    """The backend could not answer (timeout, refused, bad answer): NLU_FAILED."""


class Nlu(Protocol):
    name: str
    intent_sets: frozenset[str]  # the intentSet names a request may ask for

    async def parse(self, text: str, intent_set: str, message_id: str) -> Understood: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class NluBackend:
    name: str
    settings: type[BaseModel]  # validates the backend's own keys of [nlu]
    # (its settings, the intent sets {set: {intent: examples}}, threshold, the session)
    build: Callable[[Any, Mapping[str, Mapping[str, list[str]]], float, aiohttp.ClientSession], Nlu]


NLU_BACKENDS: Backends[NluBackend] = Backends(
    "NLU backend",
    "flowhooks.nlu",
    {
        "rules": "flowhooks.integrations.nlu_rules:BACKEND",
        "http": "flowhooks.integrations.rasa:BACKEND",
    },
    NluBackend,
)
