"""Backend ``http``: a Rasa-compatible ``/model/parse`` (SPEC 2.10).

``POST {url}`` with ``{"text", "message_id"}``; the answer's ``intent`` (``name``,
``confidence``) and ``entities`` (``entity``, ``value``) are read; entities named
``digits``, ``amount``, ``date`` or ``yes_no`` fill those outputs. Any error or a
timeout is ``NluFailed`` (NLU_FAILED).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from pydantic import Field

from flowhooks.integrations.http import NoAnswer, post_json
from flowhooks.integrations.nlu import NluBackend, NluFailed, Understood
from flowhooks.plugins import BackendSettings

ENTITIES = frozenset({"digits", "amount", "date", "yes_no"})
MAX_ANSWER_BYTES = 1024 * 1024


class RasaSettings(BackendSettings):
    url: str = "http://127.0.0.1:5005/model/parse"
    timeout_seconds: float = Field(2.0, gt=0, le=30)


def understood(doc: Any, threshold: float) -> Understood:
    """Rasa's parse answer as an ``Understood`` (NluFailed when it is not one)."""
    try:
        intent = doc.get("intent") or {}
        name = str(intent.get("name") or "none")
        confidence = float(intent.get("confidence") or 0.0)
        entities = {
            str(e["entity"]): str(e["value"])
            for e in doc.get("entities") or []
            if isinstance(e, dict) and e.get("entity") in ENTITIES and e.get("value") is not None
        }
    except (AttributeError, TypeError, ValueError, KeyError):
        raise NluFailed("the NLU backend answered something unexpected") from None
    if not 0.0 <= confidence <= 1.0:
        raise NluFailed("the NLU backend answered a confidence outside 0-1")
    if confidence < threshold:
        name = "none"
    return Understood(name, round(confidence, 2), entities)


class RasaNlu:
    name = "http"

    def __init__(
        self,
        conf: RasaSettings,
        sets: Mapping[str, Any],
        threshold: float,
        http: aiohttp.ClientSession,
    ) -> None:
        self.url = conf.url
        self.timeout_s = conf.timeout_seconds
        self.intent_sets = frozenset({"default", *sets})
        self.threshold = threshold
        self.http = http

    async def parse(self, text: str, intent_set: str, message_id: str) -> Understood:
        body = orjson.dumps({"text": text, "message_id": message_id})
        try:
            status, raw = await post_json(
                self.http, self.url, body, self.timeout_s, MAX_ANSWER_BYTES
            )
        except NoAnswer as exc:
            raise NluFailed(f"the NLU backend {exc}") from None
        if status != 200:
            raise NluFailed(f"the NLU backend answered {status}")
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise NluFailed("the NLU backend answered something that is not JSON") from None
        if not isinstance(doc, dict):
            raise NluFailed("the NLU backend answered something unexpected")
        return understood(doc, self.threshold)

    async def close(self) -> None:
        return None


BACKEND = NluBackend("http", RasaSettings, RasaNlu)
