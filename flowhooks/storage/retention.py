"""Purging what ``[retention]`` no longer keeps, in bounded batches.

Each batch is its own short transaction that deletes at most ``batch`` rows chosen by
primary key, so no purge holds a lock for long (on SQLite the writer is released
between batches; requests' writes interleave).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select, tuple_

from flowhooks.storage import tables as t
from flowhooks.storage import traces
from flowhooks.storage.database import Storage


async def _purge(storage: Storage, table: Any, key: Any, where: Any, batch: int) -> int:
    async with storage.write() as conn:
        ids = (await conn.execute(select(*key).where(where).limit(batch))).all()
        if not ids:
            return 0
        if len(key) == 1:
            await conn.execute(delete(table).where(key[0].in_([r[0] for r in ids])))
        else:
            await conn.execute(delete(table).where(tuple_(*key).in_([tuple(r) for r in ids])))
        return len(ids)


def targets(
    cutoffs: dict[str, datetime | None], now: datetime
) -> list[tuple[str, Any, tuple[Any, ...], Any]]:
    """(name, table, key columns, condition) of everything due for purging."""
    e, r, d, k = t.call_events, t.reports, t.deliveries, t.outbound_keys
    found: list[tuple[str, Any, tuple[Any, ...], Any]] = []
    if cutoffs.get("call_events") is not None:
        found.append(("call_events", e, (e.c.id,), e.c.at < cutoffs["call_events"]))
    if cutoffs.get("reports") is not None:
        found.append(("reports", r, (r.c.seq,), r.c.created_at < cutoffs["reports"]))
    if cutoffs.get("deliveries") is not None:
        finished = and_(
            d.c.state.in_(("delivered", "dead")), d.c.created_at < cutoffs["deliveries"]
        )
        found.append(("deliveries", d, (d.c.seq,), finished))
    found.append(("idempotency_keys", k, (k.c.client, k.c.key), k.c.expires_at < now))
    return found + _console_targets(cutoffs, now)


CONSOLE_STATS_DAYS = 7  # the console charts 24 hours; a week is kept


def _console_targets(
    cutoffs: dict[str, datetime | None], now: datetime
) -> list[tuple[str, Any, tuple[Any, ...], Any]]:
    a, n, lat, o, f = (
        t.delivery_attempts,
        t.request_counts,
        t.request_latency,
        t.outbox_samples,
        t.signin_failures,
    )
    stats = now - timedelta(days=CONSOLE_STATS_DAYS)
    found: list[tuple[str, Any, tuple[Any, ...], Any]] = [
        (
            "request_counts",
            n,
            (n.c.hour, n.c.method, n.c.http_status, n.c.status),
            n.c.hour < stats,
        ),
        ("request_latency", lat, (lat.c.hour, lat.c.method, lat.c.bucket), lat.c.hour < stats),
        ("outbox_samples", o, (o.c.at, o.c.client), o.c.at < stats),
        ("signin_failures", f, (f.c.id,), f.c.at < now - timedelta(days=1)),
    ]
    if cutoffs.get("deliveries") is not None:
        found.append(("delivery_attempts", a, (a.c.id,), a.c.at < cutoffs["deliveries"]))
    return found


async def purge(
    storage: Storage,
    cutoffs: dict[str, datetime | None],
    now: datetime,
    batch: int,
    pause: Callable[[], Any] | None = None,
) -> dict[str, int]:
    """Delete everything older than its cutoff, batch by batch; rows deleted by kind."""
    counts: dict[str, int] = {}
    for name, table, key, where in targets(cutoffs, now):
        total = 0
        while True:
            n = await _purge(storage, table, key, where, batch)
            total += n
            if n < batch:
                break
            if pause is not None:
                await pause()  # let the requests waiting for the writer go first
        counts[name] = total
    cutoff = cutoffs.get("traces")
    if cutoff is not None:  # oldest first by seq: traces have no index on the time alone
        total, more = 0, True
        while more:
            n, more = await traces.purge_batch(storage, cutoff, batch)
            total += n
            if more and pause is not None:
                await pause()
        counts["traces"] = total
    return counts
