"""Language names and codes as callers' flows write them, resolved with ``langcodes``.

``English``, ``hindi``, ``Hindi (India)``, ``Chinese (Simplified)``, ``en``, ``hi-IN``,
``zh-CN``, ``iw`` (an old code) all resolve; the result is the code a translation
backend takes (Google's: the base language, ``zh-CN``/``zh-TW`` for Chinese).
"""

from __future__ import annotations

from functools import lru_cache

import langcodes
from langcodes import Language

DETECT = frozenset({"", "auto", "detect", "automatic"})
MAX_NAME_CHARS = 64
# where Google's code is not the bare language subtag
_GOOGLE_SPECIAL = {"mni": "mni-Mtei"}


class UnknownLanguage(ValueError):
    """Neither a language name nor a BCP-47 code of a known language."""


def _as_code(text: str) -> Language | None:
    tag = text.replace("_", "-")
    if not langcodes.tag_is_valid(tag):
        return None
    found = Language.get(tag)
    return found if found.is_valid() and found.has_name_data() else None


def _as_name(text: str) -> Language | None:
    name, _, qualifier = text.partition("(")
    try:
        found = langcodes.find(name.strip())
    except LookupError:
        return None
    qualifier = qualifier.rstrip(")").strip().lower()
    if found.language == "zh" and qualifier:  # "Chinese (Simplified)" / "(Traditional)"
        traditional = "traditional" in qualifier or qualifier in ("taiwan", "hong kong")
        return Language.get("zh-Hant" if traditional else "zh-Hans")
    return found


@lru_cache(maxsize=1024)
def _resolve(lowered: str) -> Language:
    found = _as_code(lowered) or _as_name(lowered)
    if found is None or not found.language:
        raise UnknownLanguage(lowered)
    return found


def resolve(text: str) -> Language:
    """The language ``text`` names (UnknownLanguage if none)."""
    lowered = text.strip().lower()
    if not lowered or len(lowered) > MAX_NAME_CHARS:
        raise UnknownLanguage(text)
    return _resolve(lowered)


def is_detect(text: str | None) -> bool:
    """Absent or ``auto``: the backend detects the source language."""
    return text is None or text.strip().lower() in DETECT


def google_code(lang: Language) -> str:
    """The code Cloud Translation v2 takes for ``lang``."""
    base = lang.language or "und"
    if base == "zh":
        script = lang.maximize().script
        return "zh-TW" if script == "Hant" else "zh-CN"
    return _GOOGLE_SPECIAL.get(base, base)


@lru_cache(maxsize=1024)
def english_name(code: str) -> str:
    """``hi`` -> ``Hindi``; a code langcodes does not know is answered as given."""
    try:
        found = Language.get(code.replace("_", "-"))
    except (ValueError, LookupError):
        return code
    return found.language_name("en") if found.has_name_data() else code
