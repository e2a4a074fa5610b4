"""Pacing: how fast one process lets a client's calls and requests through (pure)."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens a second, holding at most ``max(1, rate)``; times are monotonic."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = now

    def take(self, wanted: int, now: float) -> int:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted

    def give_back(self, count: int) -> None:
        self.tokens = min(self.capacity, self.tokens + count)


class Buckets:
    """One token bucket per client, remade when the client's rate changes."""

    def __init__(self) -> None:
        self._by_client: dict[str, TokenBucket] = {}

    def of(self, client: str, rate: float, now: float) -> TokenBucket:
        bucket = self._by_client.get(client)
        if bucket is None or bucket.rate != rate:
            bucket = self._by_client[client] = TokenBucket(rate, now)
        return bucket
