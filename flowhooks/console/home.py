"""/console: the last 24 hours at a glance, as charts.

For the operator, envelope requests by method and status and their p50/p99 latency
come from the ``request_counts`` / ``request_latency`` rows every serve process adds to
once a ``[console] stats_seconds`` (workers/stats.py): the whole service, every process,
a minute behind at most. Those rows carry no client (counting one per request would
cost the envelope's path), so a client's own requests come from its flow traces
(issue 26): a grouped read of its last 24 hours (``storage.stats.traced_since``), the
same charts, and a word on the page when tracing is off or sampled. Calls by state
and the outbox are the client's own (every client's for the operator).

Performance: grouping 100,000 traces costs ~100 ms of SQLite, on the event loop. An
hour that is over gets no more traces, so ``TracedHours`` keeps each process's reading
of those, read an hour at a time (the loop is held ~10 ms at most, not 100); a view
reads only the hours still open (one or two).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from flowhooks.console import charts
from flowhooks.console.pages import SESSION, client_of, page, render
from flowhooks.console.traces import tracing
from flowhooks.metrics import BUCKETS
from flowhooks.storage import Storage, outbound, stats
from flowhooks.web import keys as appkeys
from flowhooks.workers.stats import hour_of

NAV = ("/console", "Home")
HOURS = 24
CALL_STATES = (
    "queued",
    "dialing",
    "initiated",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "cancelled",
)


def quantile(counts: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile in seconds of a histogram over ``metrics.BUCKETS`` (the last
    count is +Inf), read linearly inside its bucket; None without answers."""
    total = sum(counts)
    if total <= 0:
        return None
    wanted, seen = q * total, 0.0
    for i, n in enumerate(counts):
        if n and seen + n >= wanted:
            if i >= len(BUCKETS):
                return BUCKETS[-1]  # beyond the last bound: at least that
            low = BUCKETS[i - 1] if i else 0.0
            return low + (BUCKETS[i] - low) * (wanted - seen) / n
        seen += n
    return BUCKETS[-1]


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def hours_until(now: datetime) -> list[datetime]:
    last = hour_of(now)
    return [last - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


def _requests(
    rows: list[dict[str, Any]], latency: list[dict[str, Any]], hours: list[datetime]
) -> dict[str, Any]:
    """The request charts and table (the operator's counters, or a client's traces)."""
    index = {h: i for i, h in enumerate(hours)}
    ok, failed, errors = [0] * HOURS, [0] * HOURS, [0] * HOURS
    by_method: dict[str, dict[str, int]] = defaultdict(
        lambda: {"SUCCESS": 0, "FAILED": 0, "error": 0}
    )
    for r in rows:
        i = index.get(r["hour"])
        if i is None:
            continue
        kind = (
            "error"
            if r["http_status"] >= 400
            else ("FAILED" if r["status"] == "FAILED" else "SUCCESS")
        )
        (errors if kind == "error" else failed if kind == "FAILED" else ok)[i] += r["count"]
        by_method[r["method"]][kind] += r["count"]
    per_hour = [[0.0] * (len(BUCKETS) + 1) for _ in hours]
    per_method: dict[str, list[float]] = defaultdict(lambda: [0.0] * (len(BUCKETS) + 1))
    for r in latency:
        i = index.get(r["hour"])
        if i is None or r["bucket"] > len(BUCKETS):
            continue
        per_hour[i][r["bucket"]] += r["count"]
        per_method[r["method"]][r["bucket"]] += r["count"]
    labels = [h.strftime("%H") for h in hours]
    methods = sorted(by_method.items(), key=lambda kv: -sum(kv[1].values()))
    p50 = [(quantile(c, 0.5) or 0) * 1000 for c in per_hour]
    p99 = [(quantile(c, 0.99) or 0) * 1000 for c in per_hour]
    return {
        "requests_chart": charts.columns(
            "Envelope requests an hour",
            labels,
            [
                charts.Series("SUCCESS", ok),
                charts.Series("FAILED", failed, "bar2"),
                charts.Series("HTTP error", errors, "bad"),
            ],
        ),
        "methods_chart": charts.bars(
            "Requests by method, 24 h", [(m, sum(c.values())) for m, c in methods]
        ),
        "latency_chart": charts.lines(
            "Latency p50 and p99 an hour, ms",
            labels,
            [charts.Series("p50", p50, "line"), charts.Series("p99", p99, "line2")],
        ),
        "methods": [
            {
                "method": m,
                **c,
                "total": sum(c.values()),
                "p50": _ms(quantile(per_method[m], 0.5)),
                "p99": _ms(quantile(per_method[m], 0.99)),
            }
            for m, c in methods
        ],
    }


Rows = list[dict[str, Any]]
HOUR = timedelta(hours=1)
SETTLE = timedelta(minutes=1)  # traces reach the database within 250 ms; a slow writer too


@dataclass
class TracedHours:
    """Each client's traced requests and latency of the hours that are over (``SETTLE``
    after their end), read once a process; the open hours are read at each view."""

    _kept: dict[tuple[str, datetime], tuple[Rows, Rows]] = field(default_factory=dict)

    async def read(
        self, db: Storage, client: str, hours: list[datetime], now: datetime
    ) -> tuple[Rows, Rows]:
        """(requests, latency) of ``hours`` (UTC hours, oldest first)."""
        self._forget(hours[0])
        over = [h for h in hours if h + HOUR + SETTLE <= now]
        for h in over:
            if (client, h) not in self._kept:  # a newly ended hour (all, at a first view)
                await asyncio.sleep(0)  # SQLite reads hold the loop: envelopes go between
                self._kept[client, h] = await stats.traced_since(db, client, h, h + HOUR)
        requests: Rows = []
        latency: Rows = []
        for h in over:
            kept = self._kept[client, h]
            requests += kept[0]
            latency += kept[1]
        open_since = over[-1] + HOUR if over else hours[0]
        fresh = await stats.traced_since(db, client, open_since, hours[-1] + HOUR)
        return requests + fresh[0], latency + fresh[1]

    def _forget(self, oldest: datetime) -> None:
        for key in [k for k in self._kept if k[1] < oldest]:
            del self._kept[key]


TRACED_HOURS = web.AppKey("console_traced_hours", TracedHours)


def _outbox(samples: list[dict[str, Any]], hours: list[datetime]) -> dict[str, Any]:
    """Pending and dead deliveries an hour: the largest sample of each hour."""
    index = {h: i for i, h in enumerate(hours)}
    pending, dead = [0] * HOURS, [0] * HOURS
    for s in samples:
        i = index.get(hour_of(s["at"]))
        if i is not None:
            pending[i] = max(pending[i], s["pending"])
            dead[i] = max(dead[i], s["dead"])
    labels = [h.strftime("%H") for h in hours]
    return {
        "outbox_chart": charts.lines(
            "Outbox: pending and dead deliveries, largest an hour",
            labels,
            [charts.Series("pending", pending, "line"), charts.Series("dead", dead, "line2")],
        ),
        "outbox_now": {"pending": pending[-1], "dead": dead[-1]},
    }


@page
async def home(request: web.Request) -> web.StreamResponse:
    app = request.app
    db, now = app[appkeys.DB], app[appkeys.CLOCK].now()
    session = request[SESSION]
    hours = hours_until(now)
    since = hours[0]
    context: dict[str, Any] = {"title": "Home", "operator": session.operator, "since": since}
    if session.operator:
        context.update(
            _requests(
                await stats.requests_since(db, since), await stats.latency_since(db, since), hours
            )
        )
        by_state = await outbound.depth(db, now)
        samples = await stats.outbox_since(db, since, None)
    else:
        client = client_of(request)
        by_state = await outbound.states_of(db, client)
        samples = await stats.outbox_since(db, since, client)
        traced = await app[TRACED_HOURS].read(db, client, hours, now)
        context.update(_requests(*traced, hours))
        context["tracing"] = tracing(app[appkeys.SETTINGS].traces)
        made = await outbound.requests_by_hour(db, client, hours)
        context["made_chart"] = charts.columns(
            "createOutbound requests an hour",
            [h.strftime("%H") for h in hours],
            [charts.Series("requests", made)],
        )
    states = [(s, by_state.get(s, 0)) for s in CALL_STATES]
    states += [(s, n) for s, n in sorted(by_state.items()) if s not in CALL_STATES and s != "due"]
    context["calls_chart"] = charts.bars("Calls by state", states)
    context.update(_outbox(samples, hours))
    return render(request, "home.html", context)


ROUTES = [("GET", "/console", home), ("GET", "/console/", home)]
