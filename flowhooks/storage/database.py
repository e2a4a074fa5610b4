"""The Storage object: engines, transactions, and the errors that mean "database down".

PostgreSQL: SQLAlchemy's async engine on asyncpg; reads run in autocommit (one
round trip), writes in a transaction. The envelope methods' hot paths (``rows()`` and
``hot_write()``) skip SQLAlchemy's execution layer: their statements are compiled once
and run as prepared statements on a raw asyncpg pool (~70 µs a read instead of ~200).

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
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from flowhooks.errors import StorageUnavailable

BUSY_TIMEOUT_S = 10.0
_DOWN = (exc.OperationalError, exc.InterfaceError, ConnectionError, TimeoutError, OSError)
_DRIVER_DOWN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    ConnectionError,
    TimeoutError,
    OSError,
)


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


class Compiled:
    """Each hot-path statement compiled once to one dialect's SQL, and a function that
    puts a call's parameters in that SQL's order (literals such as LIMIT 1 included)."""

    def __init__(self, dialect: Any) -> None:
        self._dialect = dialect
        self._cache: dict[int, tuple[Any, str, Callable[[dict[str, Any]], list[Any]]]] = {}

    def __call__(self, statement: Any) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
        found = self._cache.get(id(statement))
        if found is None or found[0] is not statement:
            compiled = statement.compile(dialect=self._dialect)
            names = list(compiled.positiontup or [])
            fixed = {n: v for n, v in compiled.params.items() if v is not None}

            def ordered(params: dict[str, Any]) -> list[Any]:
                return [params[n] if n in params else fixed[n] for n in names]

            found = (statement, compiled.string, ordered)
            self._cache[id(statement)] = found
        return found[1], found[2]


class HotTransaction:
    """What a hot path's write transaction offers: ``rows`` and ``many`` (both dialects)."""

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """Run one statement; its rows (positional), or [] when it returns none."""
        raise NotImplementedError

    async def many(self, statement: Any, params: list[dict[str, Any]]) -> None:
        """Run one statement once per parameter set."""
        raise NotImplementedError


class _DriverTransaction(HotTransaction):
    """PostgreSQL: an asyncpg connection inside a transaction; statements prepared once
    per connection by asyncpg's statement cache (off for PgBouncer: see settings)."""

    def __init__(self, conn: Any, compiled: Compiled) -> None:
        self._conn = conn
        self._compiled = compiled

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        sql, ordered = self._compiled(statement)
        return list(await self._conn.fetch(sql, *ordered(params)))

    async def many(self, statement: Any, params: list[dict[str, Any]]) -> None:
        if params:
            sql, ordered = self._compiled(statement)
            await self._conn.executemany(sql, [ordered(p) for p in params])


class SqlTransaction(HotTransaction):
    """A SQLAlchemy connection's transaction (types processed by SQLAlchemy): SQLite's
    hot paths, and the hot-path queries that run inside a ``write()``."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        result = await self._conn.execute(statement, params)
        return list(result) if result.returns_rows else []

    async def many(self, statement: Any, params: list[dict[str, Any]]) -> None:
        if params:
            await self._conn.execute(statement, params)


BIG_TRANSACTION_ROWS = 256


async def _json_as_python(conn: Any) -> None:
    """JSON columns take and give Python values on the driver, as through SQLAlchemy."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=_json_text, decoder=orjson.loads
        )


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _keep_session(conn: Any) -> None:
    """Performance: asyncpg's default reset sends ``RESET ALL; UNLISTEN *; ...`` at every
    release, a round trip a request; the hot paths set no session state, and an open
    transaction is still rolled back before this runs."""


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
        self._compiled: Compiled | None = None
        self._raw: sqlite3.Connection | None = None
        self._dsn = ""
        self._driver_options: dict[str, Any] = {}
        self._driver: asyncpg.Pool | None = None
        self._driver_lock = asyncio.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        sqlite_synchronous: str = "NORMAL",
        pool_size: int = 10,
        driver_pool_size: int = 20,
        statement_cache: bool = True,
    ) -> Storage:
        """``pool_size`` SQLAlchemy connections plus ``driver_pool_size`` asyncpg ones (the
        hot paths') on PostgreSQL; ``statement_cache = False`` for PgBouncer's transaction
        mode, where a prepared statement does not outlive the transaction."""
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            storage = cls(url, "sqlite")
            storage._memory = u.database in (None, "", ":memory:")
            if not storage._memory and u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            sync_url = u.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
            storage._sqlite = _sqlite_engine(sync_url, storage._memory, sqlite_synchronous)
            storage._compiled = Compiled(storage._sqlite.dialect)
            storage._sqlite_reads = (
                storage._sqlite
                if storage._memory
                else _sqlite_engine(sync_url, False, sqlite_synchronous)
            )
            return storage
        storage = cls(url, "postgresql")
        async_url = u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        no_cache: dict[str, Any] = {}
        if not statement_cache:  # SQLAlchemy's documented PgBouncer settings
            no_cache = {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
            }
        # a fixed pool: overflow connections would be opened and closed per request
        storage._pg = create_async_engine(
            async_url,
            pool_size=pool_size,
            max_overflow=0,
            hide_parameters=True,  # a failed statement's error never carries a caller's values
            connect_args=no_cache,
        )
        storage._dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
        storage._driver_options = {
            "min_size": 0,
            "max_size": driver_pool_size,
            "statement_cache_size": 100 if statement_cache else 0,
            "init": _json_as_python,
            "reset": _keep_session,
        }
        storage._compiled = Compiled(pg_asyncpg.dialect())  # type: ignore[no-untyped-call]
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

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One read statement's rows (positional), for hot paths.

        PostgreSQL: a prepared statement on the asyncpg pool, in autocommit. A SQLite
        file: the statement compiled once and run on the driver's connection directly
        (~5 µs instead of ~35 µs through SQLAlchemy's execution layer); its columns must
        need no type conversion. An in-memory SQLite database goes through ``read()``.
        """
        if self._pg is not None:
            return await self._driver_fetch(statement, params)
        if self._memory:
            async with self.read() as conn:
                return [tuple(r) for r in await conn.execute(statement, params)]
        sql, ordered = self._sql(statement)
        try:
            cursor = self._raw_reader().execute(sql, ordered(params))
            return cursor.fetchall()
        except sqlite3.OperationalError as e:
            raise StorageUnavailable(f"database unavailable: {e}") from e

    async def write_one(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One write statement on its own (its rows): on PostgreSQL a prepared statement
        in autocommit, one round trip; on SQLite the single writer's transaction."""
        if self._pg is None:
            async with self.hot_write() as tx:
                return await tx.rows(statement, params)
        return await self._driver_fetch(statement, params)

    async def _driver_fetch(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One statement on the asyncpg pool, in autocommit."""
        sql, ordered = self._sql(statement)
        pool = await self._driver_pool()
        try:
            return list(await pool.fetch(sql, *ordered(params)))
        except _DRIVER_DOWN as e:
            raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e

    @asynccontextmanager
    async def hot_write(self) -> AsyncIterator[HotTransaction]:
        """A write transaction for a hot path: on PostgreSQL an asyncpg connection with
        prepared statements, on SQLite ``write()`` (the single writer)."""
        if self._pg is None:
            async with self.write() as conn:
                yield SqlTransaction(conn)
            return
        pool = await self._driver_pool()
        try:
            async with pool.acquire() as conn, conn.transaction():
                assert self._compiled is not None
                yield _DriverTransaction(conn, self._compiled)
        except _DRIVER_DOWN as e:
            raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e

    def _sql(self, statement: Any) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
        assert self._compiled is not None
        return self._compiled(statement)

    async def _driver_pool(self) -> asyncpg.Pool:
        """The asyncpg pool, opened on first use (again after a failed attempt)."""
        if self._driver is not None:
            return self._driver
        async with self._driver_lock:
            if self._driver is None:
                try:
                    self._driver = await asyncpg.create_pool(self._dsn, **self._driver_options)
                except (*_DRIVER_DOWN, asyncpg.PostgresError) as e:  # down, or no such db
                    raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e
        return self._driver

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
        if self._driver is not None:
            await self._driver.close()
            self._driver = None
        if self._pg is not None:
            await self._pg.dispose()
        for engine in {self._sqlite, self._sqlite_reads} - {None}:
            assert engine is not None
            engine.dispose()
