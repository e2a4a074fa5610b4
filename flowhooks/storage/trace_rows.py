"""Flow traces stored on the raw drivers, without SQLAlchemy: the traces writer process
(``traces.writer``) starts in ~0.1 s and stays small because it never imports it.

SQLite: a chunk of rows is one multi-row INSERT on ``sqlite3`` (~9 µs a row, against ~14
through SQLAlchemy's executemany), a transaction a chunk, so the serving process never
waits long for the file's write lock. PostgreSQL: a batch is one binary COPY of at most
``PostgresRows.batch`` rows (one statement: all or nothing when the writer dies mid-batch).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg

from flowhooks.errors import StorageUnavailable
from flowhooks.traces.record import Trace

COLUMNS = (
    "request_id",
    "client",
    "at",
    "method",
    "http_status",
    "status",
    "error_code",
    "latency_ms",
    "cli",
    "call_key",
    "request",
    "answer",
    "cut",
)
CHUNK = 500  # rows a statement and a transaction: 6,500 values, under SQLite's 32,766;
# ~4 ms of the write lock (the serving process's writes wait that long at most); the
# writer process's flushes are smaller (``SqliteRows.batch``: ~20 % more CPU a row than
# 500, but never a long burst beside the serving process)
BUSY_TIMEOUT_MS = 10_000  # as storage.database's: the serving process's writes go between
_PG_DOWN = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ConnectionError,
    TimeoutError,
    OSError,
)


@lru_cache(maxsize=8)
def sqlite_insert(rows: int) -> str:
    one = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES " + ", ".join([one] * rows)


def sqlite_at(at: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.isoformat(" ", "microseconds")[:26]  # without "+00:00": twice as fast as replace


def _values(r: Trace, at: Any, cut: Any) -> tuple[Any, ...]:
    """A trace's values in ``COLUMNS`` order (``at`` and ``cut`` as the driver takes them)."""
    return (
        r.request_id,
        r.client,
        at,
        r.method,
        r.http_status,
        r.status,
        r.error_code,
        r.latency_ms,
        r.cli,
        r.call_key,
        r.request,
        r.answer,
        cut,
    )


def sqlite_values(rows: Sequence[Trace]) -> list[Any]:
    flat: list[Any] = []
    for r in rows:
        flat += _values(r, sqlite_at(r.at), int(r.cut))
    return flat


class SqliteRows:
    """Traces into a SQLite file, beside the serving process (WAL: its readers never
    wait; its writes wait at most a chunk's ~2 ms for ours)."""

    # Performance: flushes of 250 traces, a transaction each (1,000 held the serving process
    # back: same-run A/B on/off 0.76-0.92 -> 0.87-1.01; bench/README.md, "Traces").
    batch = 250

    def __init__(self, path: str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # a process of its own
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            self._conn = conn
        return self._conn

    async def insert(self, rows: Sequence[Trace]) -> None:
        """Store ``rows``, a transaction a chunk; StorageUnavailable when it failed."""
        for start in range(0, len(rows), CHUNK):
            if start:
                await asyncio.sleep(0)  # the pipe is read between chunks
            chunk = rows[start : start + CHUNK]
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(sqlite_insert(len(chunk)), sqlite_values(chunk))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise StorageUnavailable(f"database unavailable: {e}") from e

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresRows:
    """Traces into PostgreSQL over one connection, opened again after a failure."""

    # Performance: small COPYs. PostgreSQL runs on the same cores as the serving process
    # (~11 µs a trace): a 1,000-row COPY held a core ~12 ms at a time and stalled the
    # server behind it; 100 rows cost a little more CPU, and on/off went 0.85-0.87 ->
    # 0.94-0.96 in same-run A/B (bench/README.md, "Traces").
    batch = 100

    def __init__(self, dsn: str, statement_cache: bool) -> None:
        self._dsn = dsn
        self._cache = 100 if statement_cache else 0  # 0 behind PgBouncer (transaction mode)
        self._conn: asyncpg.Connection | None = None

    async def insert(self, rows: Sequence[Trace]) -> None:
        """Store ``rows`` in one COPY (a statement: all or nothing); StorageUnavailable
        when it failed."""
        records = [_values(r, r.at, r.cut) for r in rows]
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn, statement_cache_size=self._cache)
            await self._conn.copy_records_to_table("traces", records=records, columns=COLUMNS)
        except _PG_DOWN as e:
            await self.close()
            raise StorageUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 5)
            except (TimeoutError, *_PG_DOWN):
                conn.terminate()
