"""The final statuses dialers promised, kept with their attempts: taken one process at a time.

A promise is written with the attempt it belongs to (``after_dial``: the same
transaction that makes the call ``initiated``) and is kept while that attempt is open
(``ended_at`` is null). Taking one sets ``promise_held_until``: another process takes
it only after that runs out, so one process reports it, and a process that died holding
it hands it on. Reporting it ends the attempt, which ends the promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, tuple_, update

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage

_a = t.call_attempts


@dataclass(frozen=True)
class Held:
    """A promise this process holds: report it for (call, attempt)."""

    call_id: str
    attempt: int
    promised: dict[str, Any]


def _open(now: datetime) -> Any:
    """Promises of attempts still open that no process holds now."""
    return and_(
        _a.c.ended_at.is_(None),
        _a.c.promised_at.is_not(None),
        or_(_a.c.promise_held_until.is_(None), _a.c.promise_held_until < now),
    )


def _held(rows: Any) -> list[Held]:
    return [Held(r.call_id, r.attempt, dict(r.promised)) for r in rows]


async def take_due(storage: Storage, now: datetime, until: datetime, limit: int) -> list[Held]:
    """Hold up to ``limit`` promises due by ``now`` (the oldest first) until ``until``."""
    due = (
        select(_a.c.call_id, _a.c.attempt)
        .where(_open(now), _a.c.promised_at <= now)
        .order_by(_a.c.promised_at)
        .limit(limit)
    )
    if storage.is_postgres:
        due = due.with_for_update(skip_locked=True)
    async with storage.write() as conn:
        rows = await conn.execute(
            update(_a)
            .where(tuple_(_a.c.call_id, _a.c.attempt).in_(due), _open(now))
            .values(promise_held_until=until)
            .returning(_a.c.call_id, _a.c.attempt, _a.c.promised)
        )
        return _held(rows)


async def take(
    storage: Storage, call_id: str, attempt: int, now: datetime, until: datetime
) -> Held | None:
    """Hold one attempt's promise (due or not) until ``until``; None when it is no longer
    to keep (reported, the attempt ended otherwise, or another process holds it)."""
    async with storage.write() as conn:
        rows = await conn.execute(
            update(_a)
            .where(_a.c.call_id == call_id, _a.c.attempt == attempt, _open(now))
            .values(promise_held_until=until)
            .returning(_a.c.call_id, _a.c.attempt, _a.c.promised)
        )
        found = _held(rows)
    return found[0] if found else None
