"""A client's traces: filtered pages newest first by keyset, one by requestId, and every
selected trace (the export) oldest first; each as the /api/v1 document (camelCase)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from flowhooks.storage import Storage
from flowhooks.storage import traces as store
from flowhooks.storage.traces import Cursor, Selection
from flowhooks.traces.export import case_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

__all__ = [
    "Cursor",
    "Selection",
    "cases",
    "count",
    "cursor_text",
    "in_order",
    "one",
    "page",
    "parse_cursor",
]


def cursor_text(cursor: Cursor) -> str:
    at, seq = cursor
    return f"{(at - EPOCH) // MICROSECOND}.{seq}"


def parse_cursor(text: str) -> Cursor:
    """ValueError when ``text`` is not a cursor ``cursor_text`` made."""
    micros, dot, seq = text.partition(".")
    for part in (micros, seq):
        if not dot or not (part.isascii() and part.isdigit()) or len(part) > 18:
            raise ValueError("not a cursor")
    at = EPOCH + timedelta(microseconds=int(micros))  # OverflowError past year 9999
    return at, int(seq)


def document(row: dict[str, Any]) -> dict[str, Any]:
    """A trace as /api/v1 answers it."""
    return {
        "requestId": row["request_id"],
        "at": row["at"].isoformat(),
        "method": row["method"],
        "httpStatus": row["http_status"],
        "status": row["status"],
        "errorCode": row["error_code"],
        "latencyMs": row["latency_ms"],
        "cli": row["cli"],
        "callKey": row["call_key"],
        "cut": bool(row["cut"]),
        "request": None if row["request"] is None else orjson.loads(row["request"]),
        "answer": {"keys": orjson.loads(row["answer"])},
    }


async def page(
    storage: Storage, sel: Selection, limit: int, after: Cursor | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of documents, newest first, and the cursor of the next (None: the last)."""
    rows = await store.page(storage, sel, limit, after)
    following = cursor_text((rows[-1]["at"], rows[-1]["seq"])) if len(rows) == limit else None
    return [document(r) for r in rows], following


async def one(storage: Storage, client: str, request_id: str) -> dict[str, Any] | None:
    row = await store.one(storage, client, request_id)
    return None if row is None else document(row)


async def in_order(
    storage: Storage, sel: Selection, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` documents oldest first (a call's envelopes in order), and whether
    more were selected."""
    async for rows in store.batches(storage, sel, limit + 1):  # the first batch only
        return [document(r) for r in rows[:limit]], len(rows) > limit
    return [], False


async def count(storage: Storage, sel: Selection) -> int:
    return await store.count(storage, sel)


async def cases(
    storage: Storage, sel: Selection, limit: int | None = None
) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
    """The selected traces as replay cases, oldest first, a batch at a time: (traces
    read, their cases). At most ``limit`` traces; one whose body was not an envelope
    has no case."""
    left = limit
    async for rows in store.batches(storage, sel):
        if left is not None:
            rows = rows[:left]
            left -= len(rows)
        yield len(rows), [c for c in map(case_of, rows) if c is not None]
        if left is not None and left <= 0:
            return
