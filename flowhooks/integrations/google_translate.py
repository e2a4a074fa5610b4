"""Backend ``google``: Cloud Translation v2 over REST (SPEC 2.9).

``POST {endpoint}`` with the key in the ``X-Goog-Api-Key`` header (never in the URL,
so no URL in an error or a log carries it) and ``{"q": [text], "target", "source"?,
"format": "text"}``. ``format`` is always ``text``: with ``html`` the API answers HTML
entities such as ``&#39;``, which must never reach a caller.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from flowhooks.integrations.http import NoAnswer, post_json
from flowhooks.integrations.translate import (
    NoApiKey,
    TranslateFailed,
    Translation,
    TranslatorBackend,
)
from flowhooks.plugins import BackendSettings

ENDPOINT = "https://translation.googleapis.com/language/translate/v2"
MAX_ANSWER_BYTES = 1024 * 1024
MAX_MESSAGE_CHARS = 300


class GoogleSettings(BackendSettings):
    endpoint: str = ENDPOINT
    api_key: SecretStr | None = None


def _redacted(message: str, key: str) -> str:
    text = " ".join(message.split())[:MAX_MESSAGE_CHARS]
    return text.replace(key, "***") if key else text


def _error_message(body: bytes) -> str:
    """Google's ``{"error": {"code", "message", "errors"}}``, else a generic text."""
    try:
        doc = orjson.loads(body)
        message = doc["error"]["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "no error message"
    return message if isinstance(message, str) else "no error message"


def _translation(body: bytes) -> Translation:
    try:
        first: Any = orjson.loads(body)["data"]["translations"][0]
        text = first["translatedText"]
        detected = first.get("detectedSourceLanguage")
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        raise TranslateFailed("the translation backend answered something unexpected") from None
    if not isinstance(text, str) or not (detected is None or isinstance(detected, str)):
        raise TranslateFailed("the translation backend answered something unexpected")
    return Translation(text, detected)


class GoogleTranslator:
    name = "google"

    def __init__(self, conf: GoogleSettings, timeout: float, http: aiohttp.ClientSession) -> None:
        self.endpoint = conf.endpoint
        self.default_key = conf.api_key.get_secret_value() if conf.api_key else None
        self.timeout_s = timeout
        self.http = http

    async def translate(
        self, text: str, target: str, source: str | None, api_key: str | None
    ) -> Translation:
        key = api_key or self.default_key
        if not key:
            raise NoApiKey("no apiKey in the request and no [translate] api_key")
        body: dict[str, object] = {"q": [text], "target": target, "format": "text"}
        if source is not None:
            body["source"] = source
        try:
            status, answer = await post_json(
                self.http,
                self.endpoint,
                orjson.dumps(body),
                self.timeout_s,
                MAX_ANSWER_BYTES,
                {"X-Goog-Api-Key": key},
            )
        except NoAnswer as exc:
            raise TranslateFailed(f"the translation backend {exc}") from None
        if status != 200:
            message = _redacted(_error_message(answer), key)
            raise TranslateFailed(f"the translation backend answered {status}: {message}")
        return _translation(answer)

    async def close(self) -> None:
        return None


BACKEND = TranslatorBackend("google", GoogleSettings, GoogleTranslator)
