"""The Translator seam: text in one language to another (SPEC 2.9).

Backends are found by name in ``TRANSLATORS`` (``[translate] backend``): the
built-ins and the ``flowhooks.translators`` entry-point group. A backend module
exports a ``TranslatorBackend`` as ``BACKEND``: its settings model (the other keys of
``[translate]``) and how to build it on the process's shared ``ClientSession``.

``Translations`` wraps whichever backend with what every backend needs: an LRU cache
by (source, target, text) that answers without a key, and single-flight (concurrent
identical requests make one backend call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel

from flowhooks.memo import BoundedCache
from flowhooks.plugins import Backends


@dataclass(frozen=True)
class Translation:
    text: str
    detected: str | None = None  # the detected source's code, when the source was not given


class TranslateFailed(Exception):
    """The backend could not translate (timeout, refused, bad answer): TRANSLATION_FAILED.

    The message is the backend's own, with any key removed; it is shown to the flow.
    """


class NoApiKey(TranslateFailed):
    """Neither the request nor the config has a key: NO_API_KEY."""


class Translator(Protocol):
    name: str

    async def translate(
        self, text: str, target: str, source: str | None, api_key: str | None
    ) -> Translation: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TranslatorBackend:
    name: str
    settings: type[BaseModel]  # validates the backend's own keys of [translate]
    build: Callable[[Any, float, aiohttp.ClientSession], Translator]  # (its settings, timeout, …)


TRANSLATORS: Backends[TranslatorBackend] = Backends(
    "translator",
    "flowhooks.translators",
    {"google": "flowhooks.integrations.google_translate:BACKEND"},
    TranslatorBackend,
)

CacheKey = tuple[str | None, str, str]


CACHE_BYTES = 32 * 1024 * 1024  # texts kept, whatever cache_size says


def _entry_bytes(key: CacheKey, value: Translation) -> int:
    return 200 + 2 * (len(key[2]) + len(value.text))  # ~2 bytes a character, plus objects


class Translations:
    """A backend behind an LRU cache and single-flight; what handlers call."""

    def __init__(self, backend: Translator, cache_size: int) -> None:
        self.backend = backend
        self.name = backend.name
        self._cache: BoundedCache[CacheKey, Translation] = BoundedCache(
            cache_size, CACHE_BYTES, _entry_bytes
        )
        self._flights: dict[CacheKey, asyncio.Task[Translation]] = {}
        self.backend_calls = 0  # for /metrics and tests

    def cached(self, text: str, target: str, source: str | None) -> Translation | None:
        return self._cache.get((source, target, text))

    async def translate(
        self, text: str, target: str, source: str | None, api_key: str | None
    ) -> Translation:
        """A cached answer needs no key; otherwise one backend call per distinct request
        in flight. The apiKey is never part of the key of the cache."""
        found = self.cached(text, target, source)
        if found is not None:
            return found
        key = (source, target, text)
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._call(key, api_key))
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        # shielded: a caller that hangs up does not cancel the others' answer
        return await asyncio.shield(flight)

    async def _call(self, key: CacheKey, api_key: str | None) -> Translation:
        source, target, text = key
        self.backend_calls += 1
        result = await self.backend.translate(text, target, source, api_key)
        self._cache.put(key, result)
        return result

    async def close(self) -> None:
        for flight in list(self._flights.values()):
            flight.cancel()
        await self.backend.close()
