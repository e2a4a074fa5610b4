"""Reading fields of a provider's payload: texts, numbers, ids, the status word."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class MalformedCallback(ValueError):
    pass


@dataclass(frozen=True)
class ProviderStatus:
    """A provider's payload in one shape."""

    ids: tuple[str, ...]  # our call id or the provider's, in the order to try
    status: str
    end_call_reason: str | None = None
    duration: int | None = None
    recording_url: str | None = None


def text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def integer(value: Any) -> int | None:
    found = text(value)
    try:
        return int(float(found)) if found is not None else None
    except ValueError:
        return None


def status_word(value: Any) -> str:
    found = text(value)
    if found is None:
        raise MalformedCallback("no status")
    return found


def ids(*values: Any) -> tuple[str, ...]:
    found = tuple(t for t in (text(v) for v in values) if t is not None)
    if not found:
        raise MalformedCallback("no call id")
    return found
