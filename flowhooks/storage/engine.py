"""The Storage object: engines, transactions, and the errors that mean "database down".

SQLite (the embedded default): WAL, a busy timeout, and a single writer — writes go
through a one-connection engine that begins ``BEGIN IMMEDIATE``, so a read-then-write
transaction can never fail to upgrade its lock; reads use their own pool.
PostgreSQL: one asyncpg pool for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from flowhooks.errors import StorageUnavailable

BUSY_TIMEOUT_MS = 10_000
_DOWN = (exc.OperationalError, exc.InterfaceError, ConnectionError, TimeoutError, OSError)


def async_url(url: str) -> str:
    """``sqlite:///x`` -> ``sqlite+aiosqlite:///x``; ``postgresql://`` -> ``+asyncpg``."""
    u = make_url(url)
    if u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def _sqlite_engine(url: str, immediate: bool, memory: bool) -> AsyncEngine:
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    elif immediate:
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event issues BEGIN itself
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Storage:
    """One database: ``read()`` and ``write()`` transactions, ``ping()``, ``close()``."""

    def __init__(self, url: str, reader: AsyncEngine, writer: AsyncEngine) -> None:
        self.url = url
        self._reader = reader
        self._writer = writer
        self.dialect = writer.dialect.name

    @classmethod
    def open(cls, url: str) -> Storage:
        full = async_url(url)
        u = make_url(full)
        if u.drivername.startswith("sqlite"):
            memory = u.database in (None, "", ":memory:")
            if not memory and u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            writer = _sqlite_engine(full, immediate=True, memory=memory)
            reader = writer if memory else _sqlite_engine(full, immediate=False, memory=False)
            return cls(url, reader, writer)
        engine = create_async_engine(full, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return cls(url, engine, engine)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def _transaction(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        try:
            async with engine.begin() as conn:
                yield conn
        except _DOWN as e:
            raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e

    def read(self) -> Any:
        """A read transaction (async context manager yielding an AsyncConnection)."""
        return self._transaction(self._reader)

    def write(self) -> Any:
        """A write transaction; on SQLite the single writer, begun IMMEDIATE."""
        return self._transaction(self._writer)

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except StorageUnavailable:
            return False

    async def close(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
