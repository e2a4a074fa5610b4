"""Translates what the flow will say to the caller (SPEC 2.9).

Languages are resolved before any backend call (an unknown one is UNKNOWN_LANGUAGE);
the backend's answer is cached by (source, target, text), so a cached answer needs no
key and makes no call. The apiKey is never logged, stored or part of the cache key.
"""

from __future__ import annotations

from pydantic import Field

from flowhooks import languages
from flowhooks.errors import HandlerFailed
from flowhooks.integrations.translate import NoApiKey, TranslateFailed
from flowhooks.method import Context, Keys

METHOD = "translateText"
MAX_TEXT_CHARS = 5000


class Input(Keys):
    inputText: str = Field(
        max_length=MAX_TEXT_CHARS, description="the text to translate", examples=["My name is John"]
    )
    targetLang: str = Field(description="a language name or code", examples=["Hindi"])
    sourceLang: str | None = Field(
        None, description="a language name or code; absent or auto: detect", examples=["English"]
    )
    apiKey: str | None = Field(None, description="the backend's key (default [translate])")


class Output(Keys):
    translatedText: str = Field(description="the text in the target language")
    detectedSourceLanguage: str = Field(
        description="English name of the detected language; empty when the source was given"
    )
    targetLanguageCode: str = Field(description="the code sent to the backend, e.g. hi")


def _language(text: str, key: str) -> str:
    try:
        return languages.google_code(languages.resolve(text))
    except languages.UnknownLanguage:
        shown = " ".join(text.split())[:64]
        raise HandlerFailed(
            "UNKNOWN_LANGUAGE", f"{key} {shown!r} is not a known language"
        ) from None


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    target = _language(keys.targetLang, "targetLang")
    source = (
        None
        if languages.is_detect(keys.sourceLang)
        else _language(keys.sourceLang or "", "sourceLang")
    )
    if ctx.translator is None:
        raise HandlerFailed("TRANSLATION_FAILED", "no [translate] backend is configured")
    try:
        done = await ctx.translator.translate(keys.inputText, target, source, keys.apiKey)
    except NoApiKey as exc:
        raise HandlerFailed("NO_API_KEY", str(exc)) from None
    except TranslateFailed as exc:
        raise HandlerFailed("TRANSLATION_FAILED", str(exc)) from None
    detected = ""
    if source is None and done.detected:
        detected = languages.english_name(done.detected)
    return {
        "translatedText": done.text,
        "detectedSourceLanguage": detected,
        "targetLanguageCode": target,
    }
