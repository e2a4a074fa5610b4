"""Prometheus metrics of one app, in its own registry (several apps may share a process).

The per-request numbers are plain counters, turned into metric families only when
/metrics is scraped: a request pays a dict update and a bisect, not a lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class RequestStats(Collector):
    """``flowhooks_requests_total`` and the ``flowhooks_request_seconds`` histogram."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        self.latency: dict[str, list[float]] = {}  # method -> bucket counts, then sum

    def observe(self, method: str, http_status: int, status: str, seconds: float) -> None:
        key = (method, str(http_status), status)
        self.counts[key] = self.counts.get(key, 0) + 1
        row = self.latency.get(method)
        if row is None:
            row = self.latency[method] = [0.0] * (len(BUCKETS) + 2)
        row[bisect_left(BUCKETS, seconds)] += 1  # the last bucket slot is +Inf
        row[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "flowhooks_requests",
            "Envelope requests by method, HTTP status and envelope status",
            labels=["method", "http_status", "status"],
        )
        for (method, http, status), count in sorted(self.counts.items()):
            requests.add_metric([method, http, status], count)
        yield requests
        latency = HistogramMetricFamily(
            "flowhooks_request_seconds", "Envelope answer latency by method", labels=["method"]
        )
        for method, row in sorted(self.latency.items()):
            cumulative: float = 0.0
            buckets: list[tuple[str, float]] = []
            for bound, hits in zip((*BUCKETS, float("inf")), row[:-1], strict=True):
                cumulative += hits
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric([method], buckets, sum_value=row[-1])
        yield latency


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stats = RequestStats()
        self.registry.register(self.stats)
        self.observe = self.stats.observe
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

        self.outbox = Gauge(
            "flowhooks_webhook_deliveries",
            "Webhook deliveries in the outbox by state",
            ["state"],
            registry=self.registry,
        )
        self.delivery_attempts = Counter(
            "flowhooks_webhook_attempts",
            "Webhook delivery attempts of this process by outcome"
            " (delivered, retry, dead, disabled, forbidden)",
            ["outcome"],
            registry=self.registry,
        )
        self.endpoints = Gauge(
            "flowhooks_webhook_endpoints",
            "Webhook endpoints whose attempts fail: backed off as a whole now, or failing"
            " (last attempt failed; sharing the failing endpoints' slots)",
            ["state"],
            registry=self.registry,
        )

        self.malformed_requests = Counter(
            "flowhooks_malformed_requests",
            "Requests whose HTTP could not be read (a bad header, body or encoding), by error",
            ["error"],
            registry=self.registry,
        )

    def malformed_request(self, error: str) -> None:
        self.malformed_requests.labels(error).inc()

    def delivery_attempt(self, outcome: str) -> None:
        self.delivery_attempts.labels(outcome).inc()

    def set_depths(self, depths: dict[str, int]) -> None:
        for state, count in depths.items():
            self.calls.labels(state).set(count)

    def set_outbox(self, depths: dict[str, int]) -> None:
        for state, count in depths.items():
            self.outbox.labels(state).set(count)

    def set_endpoints(self, counts: dict[str, int]) -> None:
        for state, count in counts.items():
            self.endpoints.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
