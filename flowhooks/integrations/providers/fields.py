"""Reading fields of a provider's payload: texts, numbers, ids, the status word."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flowhooks.texts import without_control

MAX_TEXT = 2048  # a longer field is cut here (an id this long is no id of ours)
MAX_INTEGER = 2**31 - 1  # the column's range: a duration beyond it is dropped, the status kept


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


def text(value: Any, max_chars: int = MAX_TEXT) -> str | None:
    """A field as text without control characters, at most ``max_chars``; None if empty."""
    if isinstance(value, str):
        found = without_control(value).strip()[:max_chars]
        return found or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:max_chars]
    return None


def integer(value: Any) -> int | None:
    """A whole number 0..2^31-1 (a float is cut to its whole part); None otherwise:
    "inf", "1e400", -5 and 9223372036854775808 are no duration."""
    found = text(value)
    try:
        number = float(found) if found is not None else math.nan
    except ValueError:
        return None
    return int(number) if 0 <= number <= MAX_INTEGER else None


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
