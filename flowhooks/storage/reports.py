"""Call reports (SPEC 2.5): stored with their webhook deliveries, read back by keyset.

Reports are read in ``seq`` order (the order they were stored). A page's cursor is the
last ``seq`` it held, so paging never repeats or skips a report while new ones arrive;
the CSV export walks the same keyset in batches, never holding the result in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from flowhooks.storage import outbox
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.webhooks.events import NewDelivery

_r = t.reports


@dataclass(frozen=True)
class Selection:
    client: str
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    cli: str | None = None  # E.164


async def store(
    storage: Storage,
    report_id: str,
    client: str,
    cli: str,
    keys: Mapping[str, str],
    request_id: str,
    now: datetime,
    deliveries: Sequence[NewDelivery],
) -> int:
    """The report and its webhook deliveries, in one transaction; how many deliveries."""
    async with storage.write() as conn:
        await conn.execute(
            _r.insert().values(
                id=report_id,
                client=client,
                cli=cli,
                keys=dict(keys),
                request_id=request_id,
                created_at=now,
            )
        )
        return await outbox.enqueue(conn, deliveries)


def _query(sel: Selection, after: int | None, columns: Sequence[Any]) -> Any:
    query = select(*columns).where(_r.c.client == sel.client)
    if sel.since is not None:
        query = query.where(_r.c.created_at >= sel.since)
    if sel.until is not None:
        query = query.where(_r.c.created_at < sel.until)
    if sel.cli is not None:
        query = query.where(_r.c.cli == sel.cli)
    if after is not None:
        query = query.where(_r.c.seq > after)
    return query.order_by(_r.c.seq)


async def page(
    storage: Storage, sel: Selection, limit: int, after: int | None
) -> list[dict[str, Any]]:
    """Up to ``limit`` reports after the keyset ``after``, oldest first (with ``seq``)."""
    cols = (_r.c.seq, _r.c.id, _r.c.created_at, _r.c["keys"])
    async with storage.read() as conn:
        rows = await conn.execute(_query(sel, after, cols).limit(limit))
        return [dict(r._mapping) for r in rows]


async def batches(
    storage: Storage, sel: Selection, batch: int = 2000, keys_only: bool = False
) -> AsyncIterator[list[Any]]:
    """Every selected report, batch by batch along the keyset (memory: one batch)."""
    cols = (
        (_r.c.seq, _r.c["keys"])
        if keys_only
        else (_r.c.seq, _r.c.id, _r.c.created_at, _r.c["keys"])
    )
    after: int | None = None
    while True:
        async with storage.read() as conn:
            rows = (await conn.execute(_query(sel, after, cols).limit(batch))).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def latest(
    storage: Storage, sel: Selection, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """Up to ``limit`` reports before the keyset ``before``, newest first (the console)."""
    query = _query(sel, None, (_r.c.seq, _r.c.id, _r.c.created_at, _r.c["keys"]))
    if before is not None:
        query = query.where(_r.c.seq < before)
    async with storage.read() as conn:
        rows = await conn.execute(query.order_by(None).order_by(_r.c.seq.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
