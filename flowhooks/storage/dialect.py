"""What differs between the two dialects: the INSERT that has ON CONFLICT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
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
