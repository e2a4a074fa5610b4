"""Storage: SQLAlchemy 2 async Core on SQLite (aiosqlite) or PostgreSQL (asyncpg).

Only this package writes SQL. ``Storage.read()`` / ``Storage.write()`` hand out a
connection inside a transaction; the modules beside this one hold the queries.
``Storage`` is imported on first use, so the traces writer process (``trace_rows``)
starts without SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowhooks.storage.database import Storage

__all__ = ["Storage"]


def __getattr__(name: str) -> object:
    if name == "Storage":
        from flowhooks.storage.database import Storage

        return Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
