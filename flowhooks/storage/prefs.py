"""Caller preferences (SPEC 2.6): per (client, E.164 number), name -> value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert


class TooManyPreferences(Exception):
    """The update would leave more than the allowed number of keys."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} keys would be stored; at most {limit} are allowed")
        self.count = count
        self.limit = limit


_p = t.user_prefs
_ALL_OF_NUMBER = (
    select(_p.c.name, _p.c.value)
    .where(_p.c.client == bindparam("client"), _p.c.number == bindparam("number"))
    .order_by(_p.c.name)
)  # built once: statement construction cost more than the query itself


async def fetch(storage: Storage, client: str, number: str) -> dict[str, str]:
    rows = await storage.rows(_ALL_OF_NUMBER, {"client": client, "number": number})
    return {name: value for name, value in rows}


async def update(
    storage: Storage,
    client: str,
    number: str,
    changes: Mapping[str, str],
    now: datetime,
    limit: int,
) -> dict[str, str]:
    """Apply ``changes`` atomically (an empty value deletes); returns everything stored.

    The number's owner row is locked first, so concurrent updates of one number run
    one after another and the key limit holds; updates of other numbers don't wait.
    """
    p, owners = t.user_prefs, t.pref_owners
    where = (p.c.client == client, p.c.number == number)
    async with storage.write() as conn:
        await conn.execute(
            insert(conn, owners)
            .values(client=client, number=number, created_at=now)
            .on_conflict_do_nothing()
        )
        if storage.is_postgres:
            await conn.execute(
                select(owners.c.client)
                .where(owners.c.client == client, owners.c.number == number)
                .with_for_update()
            )
        gone = [name for name, value in changes.items() if value == ""]
        if gone:
            await conn.execute(delete(p).where(*where, p.c.name.in_(gone)))
        kept = [
            {"client": client, "number": number, "name": n, "value": v, "updated_at": now}
            for n, v in changes.items()
            if v != ""
        ]
        if kept:
            stmt = insert(conn, p).values(kept)
            stmt = stmt.on_conflict_do_update(
                index_elements=[p.c.client, p.c.number, p.c.name],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
            await conn.execute(stmt)
        count = await conn.scalar(select(func.count()).select_from(p).where(*where))
        if count is not None and count > limit:
            raise TooManyPreferences(count, limit)  # leaving the block rolls back
        rows = await conn.execute(_ALL_OF_NUMBER, {"client": client, "number": number})
        return {name: value for name, value in rows}
