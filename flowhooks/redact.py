"""Which flow keys are secrets: never stored, never put in a link, never logged."""

from __future__ import annotations

SECRET_NAMES = frozenset({"securityid", "apikey", "token", "custtoken", "password"})
SECRET_PARTS = ("secret", "token", "password")


def is_secret(name: str) -> bool:
    """The SPEC's names, and any name holding secret/token/password (any case, any prefix)."""
    lowered = name.lower().rsplit(".", 1)[-1]
    return lowered in SECRET_NAMES or any(part in lowered for part in SECRET_PARTS)
