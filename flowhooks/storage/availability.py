"""Whether the database can be used now: the one classification of driver errors, and
the state a process saw last (logged once when it changes, shown by /readyz).

``reason_of`` reads SQLAlchemy's, asyncpg's and sqlite3's errors alike and answers the
driver's own words ("connection refused", "the database system is starting up",
"database or disk is full") when an error means the database cannot be reached or used
right now, or None when it is something else (a constraint, a bug): only the first
kind becomes ``StorageUnavailable`` (503 / ``STORAGE_UNAVAILABLE``).
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time

import asyncpg
from sqlalchemy import exc

log = logging.getLogger("flowhooks.storage")

# SQLSTATEs of a server that cannot serve now: 08 connection, 53 resources (disk full,
# out of memory, too many connections), 57 operator intervention (admin shutdown,
# crash, starting up or in recovery, statement timeout), 58 system/I-O error, and 25006
# read-only (a standby, or default_transaction_read_only)
_SERVER_CLASSES = ("08", "53", "57", "58")
_SERVER_STATES = frozenset({"25006"})
# sqlite3 result codes of a file that cannot be used now (the extended codes, such as
# SQLITE_IOERR_WRITE or SQLITE_READONLY_DBMOVED, start with these names)
_SQLITE_CODES = (
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_NOMEM",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_PROTOCOL",
)
_REFUSED = f"[Errno {errno.ECONNREFUSED}]"
QUIET_SECONDS = 5.0  # a use that succeeds this long after the last failure ends an outage


def reason_of(error: BaseException, connecting: bool = False) -> str | None:
    """The driver's words when ``error`` means the database cannot be used now, else
    None. ``connecting``: raised while opening a connection, where any server refusal
    (a wrong password, no such database) also means the database cannot be used."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _own_reason(current, connecting)
        if reason is not None:
            return reason
        following = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError: the driver's
        if not isinstance(following, BaseException) or id(following) in seen:
            following = current.__cause__ or current.__context__
        current = following
    return None


def _own_reason(error: BaseException, connecting: bool) -> str | None:
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        if connecting or state in _SERVER_STATES or state.startswith(_SERVER_CLASSES):
            return _first_line(str(error)) or state
        return None
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        return _first_line(str(error)) if name.startswith(_SQLITE_CODES) else None
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        # e.g. the server's FATAL arrived on an idle connection just before it closed
        return f"the connection broke: {_first_line(str(error))}"
    if isinstance(error, asyncpg.InterfaceError):
        text = str(error)
        return _first_line(text) if "closed" in text or "closing" in text else None
    if isinstance(error, exc.TimeoutError):  # SQLAlchemy's pool: every connection busy
        return "no free connection in the pool"
    if isinstance(error, TimeoutError):
        return str(error) or "no answer in time"
    if isinstance(error, OSError):
        if isinstance(error, ConnectionRefusedError) or _REFUSED in str(error):
            return "connection refused"  # (asyncpg joins one error per address it tried)
        if isinstance(error, socket.gaierror):
            return "host name not found"
        return (error.strerror or type(error).__name__).lower()
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""


class Availability:
    """The database as this process saw it last: ``reason`` is why it cannot be used
    (None while it can). The first failure logs ``database unavailable`` at ERROR with
    the driver's words; the first use that succeeds ``quiet_seconds`` after the last
    failure logs ``database available again`` at ERROR too, so whoever watches errors
    sees both ends. Failures in between log nothing here."""

    def __init__(self, quiet_seconds: float = QUIET_SECONDS) -> None:
        self.quiet_seconds = quiet_seconds
        self.reason: str | None = None
        self._since = 0.0
        self._last_failure = 0.0
        self._failures = 0

    def failed(self, reason: str) -> None:
        now = time.monotonic()
        self._last_failure = now
        self._failures += 1
        if self.reason is None:
            self._since = now
            log.error("database unavailable", extra={"fields": {"reason": reason}})
        self.reason = reason

    def succeeded(self) -> None:
        if self.reason is None:
            return
        now = time.monotonic()
        if now - self._last_failure < self.quiet_seconds:
            return  # a write may still fail (a full disk lets small writes through)
        log.error(
            "database available again",
            extra={
                "fields": {
                    "reason": self.reason,
                    "downSeconds": round(now - self._since, 1),
                    "failures": self._failures,
                }
            },
        )
        self.reason = None
        self._failures = 0
