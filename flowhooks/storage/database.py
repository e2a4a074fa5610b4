"""The Storage object: engines, transactions, and the errors that mean "database down".

PostgreSQL: SQLAlchemy's async engine on asyncpg; reads run in autocommit (one
round trip), writes in a transaction.

SQLite (the embedded default): SQLAlchemy Core on the standard ``sqlite3`` driver,
run on the event-loop thread. A point query on a WAL database takes ~30 µs, while a
hop to a driver thread (aiosqlite) cost ~1.3 ms a statement here, so the hop is what
made reads slow, not SQLite. WAL readers never wait for the writer. Writes go
through one writer at a time (an asyncio lock in the process) and begin
``BEGIN IMMEDIATE`` with no busy wait on the loop: when another process holds the
write lock we sleep asynchronously and try again, up to ``BUSY_TIMEOUT_S``.
``synchronous=NORMAL`` in WAL mode: a committed write survives a crash of the
process; ``[storage] sqlite_synchronous = "FULL"`` makes it survive power loss too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from flowhooks.errors import StorageUnavailable

BUSY_TIMEOUT_S = 10.0
_DOWN = (exc.OperationalError, exc.InterfaceError, ConnectionError, TimeoutError, OSError)


class SyncConnection:
    """The AsyncConnection methods the query modules use, over a sync Connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect
        self.rows_written = 0  # by executemany: a big transaction commits off the loop

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if isinstance(parameters, list):
            self.rows_written += len(parameters)
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)

    async def exec_driver_sql(self, statement: str) -> Any:
        return self._conn.exec_driver_sql(statement)

    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        return fn(self._conn)


BIG_TRANSACTION_ROWS = 256


def _is_locked(error: exc.OperationalError) -> bool:
    return "locked" in str(error.orig).lower() or "busy" in str(error.orig).lower()


def _sqlite_engine(url: str, memory: bool, synchronous: str) -> Engine:
    """One kept-open connection (no pool checkout per query); used from the loop thread."""
    engine = create_engine(
        url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
        hide_parameters=True,  # a failed statement's error never carries a caller's values
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun explicitly below
        cursor = dbapi_conn.cursor()
        if not memory:
            # once per process, at start: another process's write may hold the lock the
            # journal-mode switch needs, so this one statement may wait for it
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=0")  # never block the loop; we retry instead
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class Storage:
    """One database: ``read()`` and ``write()`` transactions, ``ping()``, ``close()``."""

    def __init__(self, url: str, dialect: str) -> None:
        self.url = url
        self.dialect = dialect
        self._sqlite: Engine | None = None
        self._sqlite_reads: Engine | None = None
        self._memory = False
        self._pg: AsyncEngine | None = None
        self._pg_reads: AsyncEngine | None = None
        self._write_lock = asyncio.Lock()
        self._sql_cache: dict[int, tuple[Any, str, list[str]]] = {}
        self._raw: sqlite3.Connection | None = None

    @classmethod
    def open(cls, url: str, sqlite_synchronous: str = "NORMAL", pool_size: int = 20) -> Storage:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            storage = cls(url, "sqlite")
            storage._memory = u.database in (None, "", ":memory:")
            if not storage._memory and u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            sync_url = u.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
            storage._sqlite = _sqlite_engine(sync_url, storage._memory, sqlite_synchronous)
            storage._sqlite_reads = (
                storage._sqlite
                if storage._memory
                else _sqlite_engine(sync_url, False, sqlite_synchronous)
            )
            return storage
        storage = cls(url, "postgresql")
        async_url = u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        # a fixed pool: overflow connections would be opened and closed per request
        storage._pg = create_async_engine(
            async_url,
            pool_size=pool_size,
            max_overflow=0,
            hide_parameters=True,  # a failed statement's error never carries a caller's values
        )
        storage._pg_reads = storage._pg.execution_options(isolation_level="AUTOCOMMIT")
        return storage

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def _pg_transaction(self, engine: AsyncEngine) -> AsyncIterator[Any]:
        try:
            async with engine.begin() as conn:
                yield conn
        except _DOWN as e:
            raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e

    @asynccontextmanager
    async def _sqlite_transaction(self, engine: Engine, begin: str | None) -> AsyncIterator[Any]:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.001
        while True:
            conn = engine.connect()
            try:
                if begin:
                    conn.exec_driver_sql(begin)
                break
            except exc.OperationalError as e:
                conn.close()
                if not _is_locked(e) or time.monotonic() > deadline:
                    raise StorageUnavailable(f"database unavailable: {e.orig}") from e
            await asyncio.sleep(delay)  # another process writes: wait without blocking
            delay = min(delay * 2, 0.05)
        try:
            wrapped = SyncConnection(conn)
            yield wrapped
            if wrapped.rows_written > BIG_TRANSACTION_ROWS:
                # a commit of ~1,500 rows takes ~10 ms; sqlite3 releases the GIL while it
                # writes, so the loop serves others meanwhile (the write lock is held)
                await asyncio.to_thread(conn.commit)
            else:
                conn.commit()
        except exc.OperationalError as e:  # disk full, I/O error: nothing was stored
            conn.rollback()
            raise StorageUnavailable(f"database unavailable: {e.orig}") from e
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        """Reads in autocommit: each statement sees the latest committed state."""
        if self._pg_reads is not None:
            async with self._pg_transaction(self._pg_reads) as conn:
                yield conn
            return
        assert self._sqlite_reads is not None
        if self._memory:  # one shared connection: never read inside someone's write
            async with self._write_lock, self._sqlite_transaction(self._sqlite_reads, None) as c:
                yield c
        else:
            async with self._sqlite_transaction(self._sqlite_reads, None) as conn:
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Any]:
        """A write transaction; on SQLite the single writer, begun IMMEDIATE."""
        if self._pg is not None:
            async with self._pg_transaction(self._pg) as conn:
                yield conn
            return
        assert self._sqlite is not None
        async with self._write_lock, self._sqlite_transaction(self._sqlite, "BEGIN IMMEDIATE") as c:
            yield c

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """One read statement's rows, for hot paths; columns must need no type conversion.

        On a SQLite file the statement is compiled once and run on the driver's
        connection directly (~5 µs instead of ~35 µs through SQLAlchemy's execution
        layer); elsewhere it runs through ``read()``.
        """
        if self._sqlite_reads is None or self._memory:
            async with self.read() as conn:
                return [tuple(r) for r in await conn.execute(statement, params)]
        sql, names = self._compiled(statement)
        try:
            cursor = self._raw_reader().execute(sql, [params[n] for n in names])
            return cursor.fetchall()
        except sqlite3.OperationalError as e:
            raise StorageUnavailable(f"database unavailable: {e}") from e

    def _compiled(self, statement: Any) -> tuple[str, list[str]]:
        found = self._sql_cache.get(id(statement))
        if found is None or found[0] is not statement:
            assert self._sqlite_reads is not None
            compiled = statement.compile(dialect=self._sqlite_reads.dialect)
            found = (statement, compiled.string, list(compiled.positiontup or []))
            self._sql_cache[id(statement)] = found
        return found[1], found[2]

    def _raw_reader(self) -> sqlite3.Connection:
        if self._raw is None:
            assert self._sqlite_reads is not None
            fairy = self._sqlite_reads.raw_connection()  # the one kept-open connection
            self._raw = fairy.driver_connection
        assert self._raw is not None
        return self._raw

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except StorageUnavailable:
            return False

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.dispose()
        for engine in {self._sqlite, self._sqlite_reads} - {None}:
            assert engine is not None
            engine.dispose()
