"""Prometheus metrics of one app, in its own registry (several apps may share a process)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "flowhooks_requests",
            "Envelope requests by method, HTTP status and envelope status",
            ["method", "http_status", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowhooks_request_seconds",
            "Envelope answer latency by method",
            ["method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

        self.dispatch_lag = Histogram(
            "flowhooks_dispatch_lag_seconds",
            "Time from a call's due time to its dial",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.calls = Gauge(
            "flowhooks_outbound_calls",
            "Outbound calls by state (queue depths); 'due' = queued and due now",
            ["state"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, int, str], tuple[Any, Any]] = {}

    def observe(self, method: str, http_status: int, status: str, seconds: float) -> None:
        key = (method, http_status, status)
        children = self._children.get(key)
        if children is None:  # label lookups are the slow part; do each once
            children = (
                self.requests.labels(method, str(http_status), status),
                self.latency.labels(method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def set_depths(self, depths: dict[str, int]) -> None:
        for state, count in depths.items():
            self.calls.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
