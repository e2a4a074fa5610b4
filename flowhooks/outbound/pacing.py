"""Pacing: token buckets (pure). The shared buckets live in the database (one row a
client and kind, storage/pacing.py); a process spends the tokens it took from there."""

from __future__ import annotations

import math


def refill_and_take(
    tokens: float, stamp: float, now: float, rate: float, wanted: int
) -> tuple[int, float]:
    """A stored bucket at ``now``: (tokens granted, tokens left). It holds at most
    ``max(1, rate)``; a clock that stepped back refills nothing."""
    capacity = max(1.0, rate)
    tokens = min(capacity, tokens + max(0.0, now - stamp) * rate)
    granted = max(0, min(wanted, int(tokens)))
    return granted, tokens - granted


def lease_size(rate: float, seconds: float) -> int:
    """Tokens a process takes from a shared bucket at once: ``seconds`` of the rate, at
    least one, at most the bucket's capacity."""
    return max(1, min(int(rate * seconds), int(max(1.0, rate))))


def retry_after(rate: float) -> int:
    """Whole seconds until a bucket of ``rate`` holds a token again (HTTP Retry-After)."""
    return max(1, math.ceil(1.0 / rate))
