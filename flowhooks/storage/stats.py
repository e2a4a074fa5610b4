"""The console's numbers over time (issue 27): envelope answers and their latency an
hour, added to by every serve process, and each client's outbox a minute.

A process counts its answers in memory anyway (``metrics.RequestStats``, for
/metrics); a background loop adds what it counted since its last write to the hour's
rows, so the console sums every process without touching a request's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, func, select, true

from flowhooks.metrics import BUCKETS
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert_for

_n, _l, _o, _d = t.request_counts, t.request_latency, t.outbox_samples, t.deliveries
_tr = t.traces
Counts = Mapping[tuple[str, int, str], int]  # (method, HTTP status, status) -> answers
Latency = Mapping[tuple[str, int], int]  # (method, bucket index) -> answers


@cache
def _add(dialect: str, table: Any, keys: tuple[str, ...]) -> Any:
    stmt = insert_for(dialect, table).values({name: bindparam(name) for name in (*keys, "count")})
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={"count": table.c["count"] + stmt.excluded["count"]},
    )


async def add_requests(storage: Storage, hour: datetime, counts: Counts, latency: Latency) -> None:
    """Add answers counted by one process to ``hour``'s rows, in one transaction."""
    rows = [
        {"hour": hour, "method": m, "http_status": h, "status": s, "count": n}
        for (m, h, s), n in counts.items()
        if n
    ]
    buckets = [
        {"hour": hour, "method": m, "bucket": b, "count": n} for (m, b), n in latency.items() if n
    ]
    if not rows and not buckets:
        return
    async with storage.write() as conn:
        if rows:
            keys = ("hour", "method", "http_status", "status")
            await conn.execute(_add(storage.dialect, _n, keys), rows)
        if buckets:
            await conn.execute(_add(storage.dialect, _l, ("hour", "method", "bucket")), buckets)


async def requests_since(storage: Storage, since: datetime) -> list[dict[str, Any]]:
    """Answers an hour from ``since`` on: hour, method, http_status, status, count."""
    async with storage.read() as conn:
        rows = await conn.execute(select(_n).where(_n.c.hour >= since).order_by(_n.c.hour))
        return [dict(r._mapping) for r in rows]


async def latency_since(storage: Storage, since: datetime) -> list[dict[str, Any]]:
    """Latency buckets an hour from ``since`` on: hour, method, bucket, count."""
    async with storage.read() as conn:
        rows = await conn.execute(select(_l).where(_l.c.hour >= since).order_by(_l.c.hour))
        return [dict(r._mapping) for r in rows]


def _hour(dialect: str) -> Any:
    """The UTC hour of a trace's time, as the database can group by it cheaply."""
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", _tr.c.at))
    return func.substr(_tr.c.at, 1, 13)  # SQLite's text "YYYY-MM-DD HH:MM:SS.ffffff"


# the index of ``metrics.BUCKETS`` a latency falls in, as ``RequestStats`` counts it
_BUCKET = case(
    *((_tr.c.latency_ms <= bound * 1000, i) for i, bound in enumerate(BUCKETS)),
    else_=len(BUCKETS),
)


async def traced_since(
    storage: Storage, client: str, since: datetime, until: datetime | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A client's traced answers from ``since`` on (before ``until``), shaped as
    ``requests_since`` and ``latency_since`` shape the hourly counters: (requests,
    latency buckets) an hour.

    One grouped scan of ``ix_traces_client_at``'s range (the client's last hours)."""
    hour = _hour(storage.dialect).label("hour")
    bucket = _BUCKET.label("bucket")
    query = (
        select(hour, _tr.c.method, _tr.c.http_status, _tr.c.status, bucket, func.count())
        .where(_tr.c.client == client, _tr.c.at >= since)
        .where(_tr.c.at < until if until is not None else true())
        .group_by(hour, _tr.c.method, _tr.c.http_status, _tr.c.status, bucket)
    )
    async with storage.read() as conn:
        found = (await conn.execute(query)).all()
    counts: dict[tuple[datetime, str, int, str], int] = {}
    buckets: dict[tuple[datetime, str, int], int] = {}
    for at, method, http_status, status, index, n in found:
        when = _hour_value(at)
        key = (when, str(method), int(http_status), str(status))
        counts[key] = counts.get(key, 0) + int(n)
        bkey = (when, str(method), int(index))
        buckets[bkey] = buckets.get(bkey, 0) + int(n)
    requests = [
        {"hour": h, "method": m, "http_status": c, "status": s, "count": n}
        for (h, m, c, s), n in sorted(counts.items())
    ]
    latency = [
        {"hour": h, "method": m, "bucket": b, "count": n}
        for (h, m, b), n in sorted(buckets.items())
    ]
    return requests, latency


def _hour_value(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(f"{value}:00").replace(tzinfo=UTC)


async def sample_outbox(storage: Storage, at: datetime) -> int:
    """Each client's pending and dead deliveries now, as the sample of minute ``at``;
    a minute another process sampled already is left as it is. Returns rows written."""
    async with storage.read() as conn:
        rows = await conn.execute(
            select(_d.c.client, _d.c.state, func.count())
            .where(_d.c.state.in_(("pending", "dead")))
            .group_by(_d.c.client, _d.c.state)
        )
        found: dict[str, dict[str, int]] = {}
        for client, state, n in rows.all():
            found.setdefault(str(client), {"pending": 0, "dead": 0})[str(state)] = int(n)
    if not found:
        return 0
    stmt = insert_for(storage.dialect, _o).on_conflict_do_nothing()
    async with storage.write() as conn:
        await conn.execute(
            stmt, [{"at": at, "client": c, **counts} for c, counts in sorted(found.items())]
        )
    return len(found)


async def outbox_since(
    storage: Storage, since: datetime, client: str | None
) -> list[dict[str, Any]]:
    """Outbox samples from ``since`` on (one client's, or every client's summed)."""
    query = select(_o.c.at, func.sum(_o.c.pending), func.sum(_o.c.dead)).where(_o.c.at >= since)
    if client is not None:
        query = query.where(_o.c.client == client)
    async with storage.read() as conn:
        rows = await conn.execute(query.group_by(_o.c.at).order_by(_o.c.at))
        return [{"at": at, "pending": int(p or 0), "dead": int(d or 0)} for at, p, d in rows]
