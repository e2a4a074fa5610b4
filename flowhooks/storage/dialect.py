"""What differs between the two dialects: the INSERT that has ON CONFLICT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` / ``_do_nothing``."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: Table) -> Any:
    """The INSERT with ON CONFLICT of the dialect named (hot paths build theirs once)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_of(table: Table, columns: Sequence[str]) -> Any:
    """An INSERT of ``columns``, each from the parameter of the same name (built once)."""
    return table.insert().values({name: bindparam(name) for name in columns})


def upsert_of(
    dialect: str, table: Table, keys: Sequence[str], columns: Sequence[str], where: Any = None
) -> Any:
    """An INSERT of ``columns`` (each from the parameter of its name) that, when a row of
    the same ``keys`` exists (and ``where`` holds), sets its other columns instead."""
    stmt = insert_for(dialect, table).values({name: bindparam(name) for name in columns})
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={name: stmt.excluded[name] for name in columns if name not in keys},
        where=where,
    )
