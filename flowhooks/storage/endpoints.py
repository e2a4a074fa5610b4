"""Webhook endpoints customers manage (``customer_webhooks``): SQL only.

Secrets arrive sealed (``flowhooks.vault``) and leave sealed; a client reads and
changes only its own rows (every statement names the client).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update

from flowhooks.storage import outbox
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage

_w = t.customer_webhooks


class TooMany(Exception):
    """The client has its ``max_endpoints_per_client`` already (409 LIMIT_REACHED)."""

    code = "LIMIT_REACHED"

    def __init__(self, limit: int) -> None:
        super().__init__(f"a client may have at most {limit} webhooks")
        self.message = str(self)


async def create(storage: Storage, row: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """Insert one endpoint unless its client has ``limit`` already (TooMany)."""
    async with storage.write() as conn:
        if storage.is_postgres:  # two creates of one client at once count one by one
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(7412002, hashtext(:client))"),
                {"client": row["client"]},
            )
        have = await conn.scalar(select(func.count()).where(_w.c.client == row["client"]))
        if int(have or 0) >= limit:
            raise TooMany(limit)
        await conn.execute(_w.insert().values(**row))
    return dict(row)


async def get(storage: Storage, client: str, webhook_id: str) -> dict[str, Any] | None:
    async with storage.read() as conn:
        found = (
            await conn.execute(select(_w).where(_w.c.client == client, _w.c.id == webhook_id))
        ).first()
    return None if found is None else dict(found._mapping)


async def by_ids(storage: Storage, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Endpoints by id, whoever owns them (the delivery loop's read)."""
    if not ids:
        return {}
    async with storage.read() as conn:
        rows = await conn.execute(select(_w).where(_w.c.id.in_(list(ids))))
        return {str(r.id): dict(r._mapping) for r in rows}


async def listing(storage: Storage, client: str) -> list[dict[str, Any]]:
    """A client's endpoints, oldest first (at most its ``max_endpoints_per_client``)."""
    async with storage.read() as conn:
        rows = await conn.execute(
            select(_w).where(_w.c.client == client).order_by(_w.c.created_at, _w.c.id)
        )
        return [dict(r._mapping) for r in rows]


async def update_one(
    storage: Storage,
    client: str,
    webhook_id: str,
    values: Mapping[str, Any],
    give_up: timedelta = timedelta(hours=24),
) -> dict[str, Any] | None:
    """Set ``values`` on one of the client's endpoints; the row as it is now, or None.

    Disabled, its pending deliveries wait (``disabled``); enabled, they are due now."""
    async with storage.write() as conn:
        found = (
            await conn.execute(
                update(_w)
                .where(_w.c.client == client, _w.c.id == webhook_id)
                .values(**values)
                .returning(*_w.c)
            )
        ).first()
        if found is not None and "enabled" in values:
            now = values["updated_at"]
            if values["enabled"]:
                await outbox.release(conn, (client, webhook_id), now, give_up)
            else:
                await outbox.hold(conn, (client, webhook_id), now)
    return None if found is None else dict(found._mapping)


async def delete_one(storage: Storage, client: str, webhook_id: str, now: datetime) -> bool:
    """Delete one of the client's endpoints: what waited for it is dead, none is sent."""
    async with storage.write() as conn:
        gone = await conn.execute(
            delete(_w).where(_w.c.client == client, _w.c.id == webhook_id).returning(_w.c.id)
        )
        if gone.first() is None:
            return False
        await outbox.drop(conn, (client, webhook_id), now, "the webhook was deleted")
        return True
