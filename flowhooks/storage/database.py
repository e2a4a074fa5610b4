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

Deadlines (``Deadlines``, from ``[storage]``): opening a connection, waiting for a free
one, and each statement's answer are bounded, so a database that hangs (a stalled disk,
a network black hole) costs a caller seconds, not minutes. On PostgreSQL a statement
past its deadline has its connection dropped (no more I/O waits on that server), and a
COMMIT carries a guard: the server refuses it once this process has stopped waiting
for it, so a write answered "unavailable" is never stored later. Every error that means
"the database cannot be used now" becomes ``StorageUnavailable`` through one
classification (``availability.reason_of``), noted in ``Storage.availability``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from flowhooks.errors import StorageUnavailable
from flowhooks.storage.availability import Availability, reason_of

log = logging.getLogger("flowhooks.storage")
T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0  # SQLite: how long a migration waits for another process's write
BACKGROUND_ACQUIRE_S = 30.0  # how long a background loop waits for a free connection
_BACKGROUND: ContextVar[bool] = ContextVar("flowhooks_storage_background", default=False)


def in_background() -> None:
    """Mark the running task, and the tasks it starts, as a background loop: it waits
    up to ``BACKGROUND_ACQUIRE_S`` for a free connection instead of ``acquire``. No
    caller is on the line, and what it writes (a dial's result) is worth the wait; a
    burst of a thousand dial results must not be refused for a pool that is busy."""
    _BACKGROUND.set(True)


@dataclass(frozen=True)
class Deadlines:
    """How long each step of a database use may take, in seconds (``[storage]``).

    ``connect``: opening a connection; ``acquire``: waiting for a free connection of
    the pool (on SQLite: for the write lock); ``statement``: each statement's answer,
    COMMIT included; ``ping``: /readyz's whole check.
    """

    connect: float = 2.0
    acquire: float = 1.0
    statement: float = 2.0
    ping: float = 0.8


# The COMMIT of a write on PostgreSQL, sent as one message with a guard the server runs
# first: past ``window`` seconds after its BEGIN (the time this process still waits for
# the answer) the guard fails (division by zero), the COMMIT is skipped and the
# transaction dies with the connection. A server that froze with the COMMIT unread
# would otherwise store, on waking, a write its caller was told had failed.
_GUARDED_COMMIT = (
    "SELECT 1 / (clock_timestamp() <= transaction_timestamp()"
    " + interval '{window:.6f} seconds')::int; COMMIT"
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


async def _within(work: Awaitable[T], seconds: float, what: str) -> T:
    """``await work``, cut off after ``seconds`` with ``TimeoutError(what)``.

    Performance: a bare timer handle; ``asyncio.timeout`` (asyncpg's ``acquire(timeout=)``)
    cost ~15 µs of CPU a hot-path read, a quarter of it.
    """
    task = asyncio.current_task()
    assert task is not None
    fired = False

    def fire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    handle = asyncio.get_running_loop().call_later(seconds, fire)
    try:
        return await work
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            raise TimeoutError(what) from None
        raise
    finally:
        handle.cancel()


class _Session:
    """One PostgreSQL connection in use: each statement under the statement deadline,
    BEGIN, the guarded COMMIT, and the way out after a failure.

    Past the deadline the connection is dropped (``terminate``: no I/O), so the driver
    fails the statement at once and nothing later waits on a server that hangs; the
    statement ends as ``TimeoutError``.
    """

    __slots__ = ("began", "driver", "expired", "seconds", "unsettled")

    def __init__(self, driver: Any, seconds: float | None) -> None:
        self.driver = driver  # an asyncpg connection (or the pool's proxy of one)
        self.seconds = seconds  # None: no deadline (migrations)
        self.began = 0.0
        self.expired = False
        self.unsettled = False  # a statement was cut off: the connection's state is unknown

    def _expire(self) -> None:
        self.expired = True
        self.drop()

    def drop(self) -> None:
        """Drop the connection (no I/O), once: a pooled connection that closes lets go of
        its proxy, and any later call on the proxy raises."""
        if not self.closed():
            self.driver.terminate()

    def closed(self) -> bool:
        try:
            return bool(self.driver.is_closed())
        except asyncpg.InterfaceError:  # the pool's proxy let go of a closed connection
            return True

    async def run(self, work: Awaitable[T]) -> T:
        handle = (
            None
            if self.seconds is None
            else asyncio.get_running_loop().call_later(self.seconds, self._expire)
        )
        try:
            return await work
        except BaseException as e:
            if self.expired and isinstance(e, Exception):  # (a cancellation stays one)
                raise TimeoutError(f"no answer within {self.seconds:g} s") from e
            if not isinstance(e, (asyncpg.PostgresError, exc.StatementError)) or reason_of(e):
                self.unsettled = True  # cut off, or the database is unavailable: drop it
            raise
        finally:
            if handle is not None:
                handle.cancel()

    async def begin(self) -> None:
        await self.run(self.driver.execute("BEGIN"))
        self.began = time.monotonic()  # the server's BEGIN happened before this moment

    async def commit(self) -> None:
        if self.seconds is None:
            await self.run(self.driver.execute("COMMIT"))
            return
        window = time.monotonic() + self.seconds - self.began
        try:
            await self.run(self.driver.execute(_GUARDED_COMMIT.format(window=window)))
        except asyncpg.DivisionByZeroError as e:  # the guard: too late, nothing was stored
            self.unsettled = True
            raise TimeoutError(f"no answer within {self.seconds:g} s") from e

    async def abandon(self) -> None:
        """After a failure inside the transaction: roll back, or drop the connection
        when its state is unknown (a statement cut off, a deadline passed)."""
        if self.unsettled or self.expired or self.closed():
            self.drop()
            return
        try:
            await self.run(self.driver.execute("ROLLBACK"))
        except BaseException as e:
            self.drop()
            if not isinstance(e, Exception):
                raise


class _DriverTransaction(HotTransaction):
    """PostgreSQL: an asyncpg connection inside a transaction; statements prepared once
    per connection by asyncpg's statement cache (off for PgBouncer: see settings)."""

    def __init__(self, session: _Session, compiled: Compiled) -> None:
        self._session = session
        self._compiled = compiled

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        sql, ordered = self._compiled(statement)
        return list(await self._session.run(self._session.driver.fetch(sql, *ordered(params))))

    async def many(self, statement: Any, params: list[dict[str, Any]]) -> None:
        if params:
            sql, ordered = self._compiled(statement)
            driver = self._session.driver
            await self._session.run(driver.executemany(sql, [ordered(p) for p in params]))


class PgConnection:
    """The AsyncConnection methods the query modules use, on PostgreSQL: each statement
    under the statement deadline of its ``_Session``."""

    def __init__(self, conn: Any, session: _Session) -> None:
        self._conn = conn
        self.session = session
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self.session.run(self._conn.execute(statement, parameters))

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self.session.run(self._conn.scalar(statement, parameters))

    async def exec_driver_sql(self, statement: str) -> Any:
        return await self.session.run(self._conn.exec_driver_sql(statement))

    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        return await self.session.run(self._conn.run_sync(fn))


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


class _Outage:
    """Around a use of the database: an error that means it cannot be used now becomes
    StorageUnavailable (noted once by ``availability``); a success notes it is back. A
    class, not a generator: it wraps the hot paths' single statements (~0.2 µs)."""

    __slots__ = ("_storage",)

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        if error is None:
            self._storage._up()
        elif isinstance(error, Exception):  # not a cancellation, nor the generator closed
            down = self._storage._down(error)
            if down is not None:
                raise down from error


class Storage:
    """One database: ``read()`` and ``write()`` transactions, ``check()``, ``close()``."""

    def __init__(self, url: str, dialect: str, deadlines: Deadlines) -> None:
        self.url = url
        self.dialect = dialect
        self.deadlines = deadlines
        self.availability = Availability()
        self._sqlite: Engine | None = None
        self._sqlite_reads: Engine | None = None
        self._memory = False
        self._pg: AsyncEngine | None = None
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
        deadlines: Deadlines | None = None,
    ) -> Storage:
        """``pool_size`` SQLAlchemy connections plus ``driver_pool_size`` asyncpg ones (the
        hot paths') on PostgreSQL; ``statement_cache = False`` for PgBouncer's transaction
        mode, where a prepared statement does not outlive the transaction."""
        limits = deadlines or Deadlines()
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            storage = cls(url, "sqlite", limits)
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
        storage = cls(url, "postgresql", limits)
        async_url = u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        connect_args: dict[str, Any] = {"timeout": limits.connect}
        if not statement_cache:  # SQLAlchemy's documented PgBouncer settings
            connect_args |= {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
            }
        # a fixed pool: overflow connections would be opened and closed per request.
        # AUTOCOMMIT: reads are one round trip; a write sends its own BEGIN and guarded
        # COMMIT on the driver's connection (_Session)
        storage._pg = create_async_engine(
            async_url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=BACKGROUND_ACQUIRE_S,  # the longest; a caller's wait is cut shorter
            hide_parameters=True,  # a failed statement's error never carries a caller's values
            connect_args=connect_args,
            isolation_level="AUTOCOMMIT",
        )
        storage._dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
        storage._driver_options = {
            "min_size": 0,
            "max_size": driver_pool_size,
            "statement_cache_size": 100 if statement_cache else 0,
            "init": _json_as_python,
            "reset": _keep_session,
            "timeout": limits.connect,
        }
        storage._compiled = Compiled(pg_asyncpg.dialect())  # type: ignore[no-untyped-call]
        return storage

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    # -- what "unavailable" means, in one place -----------------------------------

    def _down(self, error: BaseException, connecting: bool = False) -> StorageUnavailable | None:
        """``error`` as StorageUnavailable (noted) when it means the database cannot be
        used now; None for any other error (a constraint, a bug), which stays itself."""
        if isinstance(error, StorageUnavailable):
            return None
        reason = reason_of(error, connecting)
        if reason is None:
            return None
        self.availability.failed(reason)
        return StorageUnavailable(f"database unavailable: {reason}")

    def _acquire_wait(self) -> float:
        return BACKGROUND_ACQUIRE_S if _BACKGROUND.get() else self.deadlines.acquire

    def _up(self) -> None:
        if self.availability.reason is not None:
            self.availability.succeeded()

    # -- PostgreSQL ---------------------------------------------------------------

    @asynccontextmanager
    async def _pg_connection(self, bounded: bool) -> AsyncIterator[PgConnection]:
        """A pooled SQLAlchemy connection (waited for ``acquire``, opened within
        ``connect``) and the driver's connection under it."""
        assert self._pg is not None
        limits = self.deadlines
        # a new connection's first use also runs SQLAlchemy's dialect set-up queries
        wait = self._acquire_wait() + limits.connect + limits.statement
        conn = self._pg.connect()
        try:
            try:
                async with asyncio.timeout(wait):
                    conn, driver = await self._checkout(conn)
            except TimeoutError:
                raise TimeoutError(f"no connection within {wait:g} s") from None
        except Exception as e:
            if conn.sync_connection is not None:
                await conn.close()
            down = self._down(e, connecting=True)
            if down is None:
                raise
            raise down from e
        session = _Session(driver, limits.statement if bounded else None)
        try:
            yield PgConnection(conn, session)
        finally:
            if session.unsettled:
                session.drop()
            if session.closed():
                await conn.invalidate()  # dropped: never back into the pool
            await conn.close()

    async def _checkout(self, conn: Any) -> tuple[Any, Any]:
        """Start ``conn``, passing over pooled connections the server has closed
        meanwhile (a restart, a terminated session): a closed one is dropped, not
        handed to a request that would fail on it."""
        assert self._pg is not None
        while True:
            await conn.start()
            driver = (await conn.get_raw_connection()).driver_connection
            if driver is not None and not driver.is_closed():
                return conn, driver
            await conn.invalidate()
            await conn.close()
            conn = self._pg.connect()

    @asynccontextmanager
    async def _pg_transaction(self, bounded: bool) -> AsyncIterator[PgConnection]:
        async with self._pg_connection(bounded) as conn:
            session = conn.session
            await session.begin()
            try:
                yield conn
            except BaseException:
                await session.abandon()
                raise
            await session.commit()

    @asynccontextmanager
    async def _driver_session(
        self, acquire: float | None = None, statement: float | None = None
    ) -> AsyncIterator[_Session]:
        """A connection of the asyncpg pool (the hot paths'), under the deadlines."""
        limits = self.deadlines
        pool = await self._driver_pool()
        wait = acquire or self._acquire_wait() + limits.connect
        try:
            driver = await _within(pool.acquire(), wait, f"no connection within {wait:g} s")
        except Exception as e:
            down = self._down(e, connecting=True)
            if down is None:
                raise
            raise down from e
        session = _Session(driver, statement or limits.statement)
        try:
            yield session
        except BaseException:
            if session.unsettled or session.expired:
                session.drop()
            raise
        finally:
            await pool.release(driver)

    async def _driver_pool(self) -> asyncpg.Pool:
        """The asyncpg pool, opened on first use (again after a failed attempt)."""
        if self._driver is not None:
            return self._driver
        async with self._driver_lock:
            if self._driver is None:
                try:
                    self._driver = await asyncpg.create_pool(self._dsn, **self._driver_options)
                except Exception as e:
                    down = self._down(e, connecting=True)
                    if down is None:
                        raise
                    raise down from e
        return self._driver

    async def _driver_fetch(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One statement on the asyncpg pool, in autocommit."""
        sql, ordered = self._sql(statement)
        async with self._driver_session() as session:
            return list(await session.run(session.driver.fetch(sql, *ordered(params))))

    # -- SQLite -------------------------------------------------------------------

    @asynccontextmanager
    async def _sqlite_transaction(
        self, engine: Engine, begin: str | None, wait: float
    ) -> AsyncIterator[Any]:
        deadline = time.monotonic() + wait
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
                    raise
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
        except BaseException:
            conn.rollback()  # disk full, I/O error, or the caller's own error: nothing stored
            raise
        finally:
            conn.close()

    @asynccontextmanager
    async def _locked(self, wait: float) -> AsyncIterator[None]:
        """This process's write lock, waited for at most ``wait`` seconds."""
        await _within(self._write_lock.acquire(), wait, f"the database was busy for {wait:g} s")
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def _sqlite_writer(self, bounded: bool) -> AsyncIterator[Any]:
        """The single writer: this process's write lock, then the file's (BEGIN
        IMMEDIATE), both waited for at most ``acquire`` seconds."""
        assert self._sqlite is not None
        wait = self._acquire_wait() if bounded else BUSY_TIMEOUT_S
        started = time.monotonic()
        async with self._locked(wait):
            left = wait - (time.monotonic() - started)
            async with self._sqlite_transaction(self._sqlite, "BEGIN IMMEDIATE", left) as conn:
                yield conn

    # -- what the query modules use -----------------------------------------------

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        """Reads in autocommit: each statement sees the latest committed state."""
        with _Outage(self):
            if self._pg is not None:
                async with self._pg_connection(bounded=True) as conn:
                    yield conn
            elif self._memory:  # one shared connection: never read inside someone's write
                assert self._sqlite_reads is not None
                async with (
                    self._locked(self._acquire_wait()),
                    self._sqlite_transaction(self._sqlite_reads, None, 0) as conn,
                ):
                    yield conn
            else:
                assert self._sqlite_reads is not None
                async with self._sqlite_transaction(self._sqlite_reads, None, 0) as conn:
                    yield conn

    @asynccontextmanager
    async def write(self, bounded: bool = True) -> AsyncIterator[Any]:
        """A write transaction; on SQLite the single writer, begun IMMEDIATE.

        ``bounded=False`` (migrations: a big table may take long to rewrite, and another
        process's migration is waited for) lifts the statement deadline."""
        with _Outage(self):
            if self._pg is not None:
                async with self._pg_transaction(bounded) as conn:
                    yield conn
            else:
                async with self._sqlite_writer(bounded) as conn:
                    yield conn

    async def rows(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One read statement's rows (positional), for hot paths.

        PostgreSQL: a prepared statement on the asyncpg pool, in autocommit. A SQLite
        file: the statement compiled once and run on the driver's connection directly
        (~5 µs instead of ~35 µs through SQLAlchemy's execution layer); its columns must
        need no type conversion. An in-memory SQLite database goes through ``read()``.
        """
        if self._memory:
            async with self.read() as conn:
                return [tuple(r) for r in await conn.execute(statement, params)]
        with _Outage(self):
            if self._pg is not None:
                found = await self._driver_fetch(statement, params)
            else:
                sql, ordered = self._sql(statement)
                found = self._raw_reader().execute(sql, ordered(params)).fetchall()
        return found

    async def write_one(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """One write statement on its own (its rows): on PostgreSQL a prepared statement
        in autocommit, one round trip; on SQLite the single writer's transaction."""
        if self._pg is None:
            async with self.hot_write() as tx:
                return await tx.rows(statement, params)
        with _Outage(self):
            found = await self._driver_fetch(statement, params)
        return found

    @asynccontextmanager
    async def hot_write(self) -> AsyncIterator[HotTransaction]:
        """A write transaction for a hot path: on PostgreSQL an asyncpg connection with
        prepared statements, on SQLite ``write()`` (the single writer)."""
        if self._pg is None:
            async with self.write() as conn:
                yield SqlTransaction(conn)
            return
        with _Outage(self):
            async with self._driver_session() as session:
                await session.begin()
                try:
                    assert self._compiled is not None
                    yield _DriverTransaction(session, self._compiled)
                except BaseException:
                    await session.abandon()
                    raise
                await session.commit()

    def _sql(self, statement: Any) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
        assert self._compiled is not None
        return self._compiled(statement)

    def _raw_reader(self) -> sqlite3.Connection:
        if self._raw is None:
            assert self._sqlite_reads is not None
            fairy = self._sqlite_reads.raw_connection()  # the one kept-open connection
            self._raw = fairy.driver_connection
        assert self._raw is not None
        return self._raw

    async def check(self) -> str | None:
        """Why the database cannot be used now, or None: one query within the ``ping``
        deadline (on PostgreSQL it also asks whether the server takes writes), and the
        last failure this process saw, kept until a use succeeds a while later (a full
        disk fails writes while reads still work)."""
        ping = self.deadlines.ping
        try:
            if self._pg is not None:
                async with self._driver_session(acquire=ping, statement=ping) as session:
                    read_only = await session.run(
                        session.driver.fetchval("SELECT current_setting('transaction_read_only')")
                    )
                if read_only == "on":
                    self.availability.failed("the database is read-only")
                    return self.availability.reason
            else:
                async with self.read() as conn:
                    await conn.execute(text("SELECT 1"))
        except StorageUnavailable:
            return self.availability.reason
        except Exception as e:
            if self._down(e, connecting=True) is None:
                raise
            return self.availability.reason
        self._up()
        return self.availability.reason

    async def ping(self) -> bool:
        return await self.check() is None

    async def close(self) -> None:
        """Close every connection; against a server that hangs, give up after the
        connect deadline and drop them."""
        if self._driver is not None:
            try:
                async with asyncio.timeout(self.deadlines.connect):
                    await self._driver.close()
            except TimeoutError:
                self._driver.terminate()
            self._driver = None
        if self._pg is not None:
            try:
                async with asyncio.timeout(self.deadlines.connect):
                    await self._pg.dispose()
            except TimeoutError:
                log.warning("database connections dropped at stop: the server did not answer")
        for engine in {self._sqlite, self._sqlite_reads} - {None}:
            assert engine is not None
            engine.dispose()
