"""The Translator seam: text in one language to another (SPEC 2.9).

Backends are found by name in ``TRANSLATORS`` (``[translate] backend``): the
built-ins and the ``flowhooks.translators`` entry-point group. A backend module
exports a ``TranslatorBackend`` as ``BACKEND``: its settings model (the other keys of
``[translate]``) and how to build it on the process's shared ``ClientSession``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel

from flowhooks.plugins import Backends


@dataclass(frozen=True)
class Translation:
    text: str
    source_language: str  # as detected or given, a language code


class TranslateFailed(Exception):
    """The backend could not translate (timeout, refused, bad answer): TRANSLATE_FAILED."""


class Translator(Protocol):
    name: str

    async def translate(self, text: str, target: str, source: str | None) -> Translation: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TranslatorBackend:
    name: str
    settings: type[BaseModel]  # validates the backend's own keys of [translate]
    build: Callable[[Any, float, aiohttp.ClientSession], Translator]  # (its settings, timeout, …)


TRANSLATORS: Backends[TranslatorBackend] = Backends(
    "translator", "flowhooks.translators", {}, TranslatorBackend
)
