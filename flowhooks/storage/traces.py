"""Flow traces (issue 26): read newest first by keyset, purged oldest first; written by
the writer process on the raw drivers (``trace_rows``), or here for an in-memory
database (which only the serving process can reach)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.engine import make_url

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.trace_rows import CHUNK, sqlite_insert, sqlite_values
from flowhooks.traces.record import Trace

_tr = t.traces


@dataclass(frozen=True)
class Selection:
    """A client's traces matching every filter given (None: any)."""

    client: str
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    cli: str | None = None  # E.164
    method: str | None = None
    status: str | None = None
    error_code: str | None = None
    call_key: str | None = None


Cursor = tuple[datetime, int]  # (at, seq) of the last trace a page held


def writer_target(url: str, synchronous: str, statement_cache: bool) -> dict[str, Any] | None:
    """Where the writer process writes (``trace_rows``' SqliteRows or PostgresRows), or
    None for an in-memory SQLite database, which no other process can reach."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database in (None, "", ":memory:"):
            return None
        return {"sqlite": str(Path(u.database).resolve()), "synchronous": synchronous}
    dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
    return {"postgresql": dsn, "statement_cache": statement_cache}


async def insert(storage: Storage, rows: Sequence[Trace]) -> None:
    """Store ``rows`` in this process, a transaction a chunk (an in-memory database)."""
    for start in range(0, len(rows), CHUNK):
        if start:
            await asyncio.sleep(0)  # requests waiting for the loop or the writer go first
        chunk = rows[start : start + CHUNK]
        async with storage.write() as conn:  # the writer's lock and BEGIN IMMEDIATE
            raw = await conn.run_sync(lambda sync: sync.connection.driver_connection)
            raw.execute(sqlite_insert(len(chunk)), sqlite_values(chunk))


def _query(sel: Selection, after: Cursor | None, newest_first: bool, columns: Any) -> Any:
    query = select(*columns).where(_tr.c.client == sel.client)
    for column, value in (
        (_tr.c.cli, sel.cli),
        (_tr.c.method, sel.method),
        (_tr.c.status, sel.status),
        (_tr.c.error_code, sel.error_code),
        (_tr.c.call_key, sel.call_key),
    ):
        if value is not None:
            query = query.where(column == value)
    for column, value in ((_tr.c.cli, sel.cli), (_tr.c.call_key, sel.call_key)):
        if value:  # their indexes hold only the traces that have one (SQLite needs it said)
            query = query.where(column != "")
    if sel.since is not None:
        query = query.where(_tr.c.at >= sel.since)
    if sel.until is not None:
        query = query.where(_tr.c.at < sel.until)
    key = tuple_(_tr.c.at, _tr.c.seq)
    if after is not None:
        query = query.where(key < tuple_(*after) if newest_first else key > tuple_(*after))
    if newest_first:
        return query.order_by(_tr.c.at.desc(), _tr.c.seq.desc())
    return query.order_by(_tr.c.at, _tr.c.seq)


_ALL = tuple(_tr.c)


async def page(
    storage: Storage, sel: Selection, limit: int, after: Cursor | None
) -> list[dict[str, Any]]:
    """Up to ``limit`` traces after the keyset ``after``, newest first."""
    async with storage.read() as conn:
        rows = await conn.execute(_query(sel, after, True, _ALL).limit(limit))
        return [dict(r._mapping) for r in rows]


async def one(storage: Storage, client: str, request_id: str) -> dict[str, Any] | None:
    """The client's newest trace of ``request_id`` (an X-Request-Id may repeat)."""
    query = (
        select(*_ALL)
        .where(_tr.c.request_id == request_id, _tr.c.client == client)
        .order_by(_tr.c.seq.desc())
        .limit(1)
    )
    async with storage.read() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def batches(
    storage: Storage, sel: Selection, batch: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every selected trace, oldest first, batch by batch (memory: one batch)."""
    after: Cursor | None = None
    while True:
        async with storage.read() as conn:
            rows = [
                dict(r._mapping)
                for r in await conn.execute(_query(sel, after, False, _ALL).limit(batch))
            ]
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = (rows[-1]["at"], rows[-1]["seq"])


async def count(storage: Storage, sel: Selection) -> int:
    """How many traces the selection holds (the export's progress bar)."""
    async with storage.read() as conn:
        found = await conn.scalar(_query(sel, None, False, (func.count(),)).order_by(None))
    return int(found or 0)


async def purge_batch(storage: Storage, cutoff: datetime, batch: int) -> tuple[int, bool]:
    """Delete the expired among the ``batch`` oldest traces (by seq); (deleted, whether
    all of them had expired). Oldest first with a look at ``batch`` rows only: no scan
    of the table when nothing is due, and no index on the time alone to keep up."""
    async with storage.write() as conn:
        rows = (
            await conn.execute(select(_tr.c.seq, _tr.c.at).order_by(_tr.c.seq).limit(batch))
        ).all()
        expired = [r.seq for r in rows if r.at < cutoff]
        if expired:
            await conn.execute(delete(_tr).where(_tr.c.seq.in_(expired)))
    return len(expired), bool(rows) and len(expired) == len(rows)
