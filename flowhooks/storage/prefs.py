"""Caller preferences (SPEC 2.6): per (client, E.164 number), name -> value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert_for, upsert_of


class TooManyPreferences(Exception):
    """The update would leave more than the allowed number of keys."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} keys would be stored; at most {limit} are allowed")
        self.count = count
        self.limit = limit


_p = t.user_prefs
_owners = t.pref_owners
_OF_NUMBER = (_p.c.client == bindparam("client"), _p.c.number == bindparam("number"))
# built once (statement construction cost more than the query itself); hot paths run them
# as prepared statements on PostgreSQL (Storage.rows / hot_write)
_ALL_OF_NUMBER = select(_p.c.name, _p.c.value).where(*_OF_NUMBER).order_by(_p.c.name)
_DELETE_ONE = delete(_p).where(*_OF_NUMBER, _p.c.name == bindparam("name"))


@cache
def _own(dialect: str) -> Any:
    """The number's owner row, made if new; on PostgreSQL also locked (an upsert that
    updates takes the row lock), so concurrent updates of one number run in turn."""
    stmt = insert_for(dialect, _owners).values(
        client=bindparam("client"), number=bindparam("number"), created_at=bindparam("now")
    )
    if dialect != "postgresql":
        return stmt.on_conflict_do_nothing()  # SQLite: the single writer orders them
    return stmt.on_conflict_do_update(
        index_elements=[_owners.c.client, _owners.c.number],
        set_={"created_at": _owners.c.created_at},
    )


@cache
def _upsert(dialect: str) -> Any:
    keys = ("client", "number", "name")
    return upsert_of(dialect, _p, keys, (*keys, "value", "updated_at"))


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
    of_number = {"client": client, "number": number}
    async with storage.hot_write() as tx:
        await tx.rows(_own(storage.dialect), {**of_number, "now": now})
        await tx.many(
            _DELETE_ONE, [{**of_number, "name": n} for n, v in changes.items() if v == ""]
        )
        await tx.many(
            _upsert(storage.dialect),
            [
                {**of_number, "name": n, "value": v, "updated_at": now}
                for n, v in changes.items()
                if v != ""
            ],
        )
        rows = await tx.rows(_ALL_OF_NUMBER, of_number)
        if len(rows) > limit:
            raise TooManyPreferences(len(rows), limit)  # leaving the block rolls back
        return {name: value for name, value in rows}
