"""Structured logs: one JSON object a line.

Callers pass fields as ``extra={"fields": {...}}``. Values a caller sent are never
logged; only names, codes and numbers are.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

from flowhooks.clock import wall_clock_ms

# errors whose text may quote a stored value (PostgreSQL: 'invalid input syntax for type
# integer: "1234"', 'Key (client, key)=(acme, k) already exists')
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "sqlite3", "aiosqlite")


def _is_database_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(_DATABASE_MODULES)


def safe_traceback(exc: BaseException) -> str:
    """The traceback, each database error's text replaced by its class name."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = f"{type(current).__module__}.{type(current).__qualname__}"
        if _is_database_error(current):
            text = f"{kind}: (database error text withheld: it may hold stored values)"
        else:
            text = "".join(traceback.format_exception_only(current)).rstrip()
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{text}")
        current = current.__cause__ or current.__context__
    return "\n\nwhich came from:\n".join(parts)


class AiohttpFilter(logging.Filter):
    """aiohttp's own records (a request it could not parse, a handler error) keep their
    message and the error's class; the error's text, which may quote a raw header line
    such as ``Authorization: Bearer ...``, is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiohttp") and record.exc_info:
            exc = record.exc_info[1]
            fields = getattr(record, "fields", None) or {}
            record.fields = {**fields, "error": type(exc).__name__}
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            doc["exc"] = safe_traceback(record.exc_info[1])
        return orjson.dumps(doc, default=str).decode()


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger through one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(AiohttpFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").disabled = True


class AccessLog:
    """The one line per request, in the same JSON shape, without a LogRecord.

    Lines are buffered and written once per event-loop turn, so a busy server makes
    one write for many requests; a line reaches the stream before the loop idles.
    The buffer is one bytearray: keeping each line's own bytes object alive until the
    flush cost 2.3 µs a line in allocations, appending to it costs 0.5 µs.
    """

    def __init__(self, stream: BinaryIO | None = None, enabled: bool = True) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._scheduled = False
        self.enabled = enabled
        self._stamp = (0, "")  # (millisecond, its ISO text): many lines share one

    def _now(self) -> str:
        ms = wall_clock_ms()
        if ms != self._stamp[0]:
            moment = datetime.fromtimestamp(ms / 1000, UTC)
            self._stamp = (ms, moment.isoformat(timespec="milliseconds"))
        return self._stamp[1]

    def write(self, fields: dict[str, Any]) -> None:
        if not self.enabled:
            return
        doc = {
            "ts": self._now(),
            "level": "INFO",
            "logger": "flowhooks.access",
            "msg": "request",
            **fields,
        }
        self._buffer += orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._buffer:
            return
        stream = self._stream or sys.stderr.buffer
        try:
            stream.write(self._buffer)
            stream.flush()
        except (OSError, ValueError):  # a closed stderr must not take the service down
            pass
        finally:
            self._buffer.clear()
