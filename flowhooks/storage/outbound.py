"""Outbound requests and calls: storing, claiming, moving states, reading them back.

Every change of a call is read-modify-write in one transaction (the row locked with
``FOR UPDATE`` on PostgreSQL; SQLite's single writer): the caller passes a pure
``decide(call) -> CallChange | None`` that says what to write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update

from flowhooks.cooperative import pieces
from flowhooks.outbound.model import CallChange, NewRequest, OutboundCall, Stored
from flowhooks.storage import outbox
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert
from flowhooks.webhooks.events import NewDelivery

# an attempt ended: (the call as changed, its outcome, its attempt row) -> deliveries
Notify = Callable[[OutboundCall, str, Mapping[str, Any]], list[NewDelivery]]

_c = t.outbound_calls


_EVENT_DEFAULTS = {
    "from_state": None,
    "to_state": None,
    "detail": None,
    "payload_hash": None,
    "raw": None,
}


_r = t.outbound_requests
_PER_REQUEST = (_r.c.email, _r.c.reference_id)  # stored once per request, read with its calls


def _call(row: Any, email: str = "", reference_id: str = "") -> OutboundCall:
    """A call from a calls row (plus its request's email and referenceId when the row
    came from a join that holds them)."""
    m = row._mapping
    if "email" in m:
        return OutboundCall(**m)
    return OutboundCall(**m, email=email, reference_id=reference_id)


async def _calls(conn: Any, rows: Iterable[Any]) -> list[OutboundCall]:
    """Calls rows with their requests' email and referenceId (one query for them all)."""
    found = list(rows)
    if not found:
        return []
    ids = {row.request_id for row in found}
    per_request = {
        rid: (email, ref)
        for rid, email, ref in await conn.execute(
            select(_r.c.id, *_PER_REQUEST).where(_r.c.id.in_(ids))
        )
    }
    return [_call(row, *per_request.get(row.request_id, ("", ""))) for row in found]


# -- createOutbound -------------------------------------------------------------


async def create(storage: Storage, req: NewRequest, now: datetime) -> Stored:
    """Store the request, its calls and its key in one transaction — or answer the holder.

    The key row is inserted first; when (client, key) is already held and not
    expired, the holder's stored answer is returned (or a conflict when the
    fingerprint differs) and nothing new is written.
    """
    k = t.outbound_keys
    async with storage.write() as conn:
        stmt = insert(conn, k).values(
            client=req.client,
            key=req.key,
            fingerprint=req.fingerprint,
            request_id=req.id,
            expires_at=req.key_expires_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[k.c.client, k.c.key],
            set_={
                "fingerprint": req.fingerprint,
                "request_id": req.id,
                "expires_at": req.key_expires_at,
            },
            where=k.c.expires_at <= now,  # an expired key is taken over
        ).returning(k.c.request_id)
        took = await conn.scalar(stmt)
        if took is None:
            held = (
                await conn.execute(
                    select(k.c.fingerprint, k.c.request_id).where(
                        k.c.client == req.client, k.c.key == req.key
                    )
                )
            ).one()
            if held.fingerprint != req.fingerprint:
                return Stored({}, created=False, conflict=True)
            answer = await conn.scalar(
                select(t.outbound_requests.c.answer).where(
                    t.outbound_requests.c.id == held.request_id
                )
            )
            return Stored(dict(answer or {}), created=False)
        await conn.execute(
            t.outbound_requests.insert().values(
                id=req.id,
                client=req.client,
                flow_id=req.flow_id,
                delay_minutes=req.delay_minutes,
                email=req.email,
                reference_id=req.reference_id,
                answer=req.answer,
                request_id=req.request_id,
                created_at=now,
            )
        )
        async for calls in pieces(req.calls):  # a big request's rows, a loop turn apart
            await conn.execute(
                _c.insert(),
                [
                    {
                        "id": c.id,
                        "request_id": req.id,
                        "client": req.client,
                        "flow_id": req.flow_id,
                        "position": c.position,
                        "number": c.number,
                        "zone": c.zone,
                        "state": "queued",
                        "attempts": 0,
                        "max_attempts": req.max_attempts,
                        "dial_errors": 0,
                        "due_at": c.due_at,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in calls
                ],
            )
            await conn.execute(
                t.call_events.insert(),
                [
                    {
                        "call_id": c.id,
                        "attempt": 1,
                        "kind": "state",
                        "from_state": None,
                        "to_state": "queued",
                        "source": "createOutbound",
                        "detail": f"due {c.due_at.isoformat()}",
                        "at": now,
                    }
                    for c in calls
                ],
            )
    return Stored(req.answer, created=True)


# -- the dispatcher ---------------------------------------------------------------


async def clients_with_due_calls(storage: Storage, now: datetime) -> dict[str, int]:
    """Client -> number of calls it has dialing or initiated, for clients with due work."""
    async with storage.read() as conn:
        due = (
            (
                await conn.execute(
                    select(_c.c.client)
                    .where(_c.c.state == "queued", _c.c.due_at <= now)
                    .group_by(_c.c.client)
                )
            )
            .scalars()
            .all()
        )
        if not due:
            return {}
        active = await conn.execute(
            select(_c.c.client, func.count())
            .where(_c.c.client.in_(due), _c.c.state.in_(("dialing", "initiated")))
            .group_by(_c.c.client)
        )
        counts = {str(client): int(n) for client, n in active.all()}
    return {client: counts.get(client, 0) for client in due}


async def claim(
    storage: Storage, client: str, limit: int, owner: str, now: datetime, lease_until: datetime
) -> list[OutboundCall]:
    """Claim up to ``limit`` due calls of ``client``: state dialing under a lease.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so workers never claim the same call;
    SQLite: one writer, and the update re-checks ``state = 'queued'``.
    """
    if limit <= 0:
        return []
    pick = (
        select(_c.c.id)
        .where(_c.c.client == client, _c.c.state == "queued", _c.c.due_at <= now)
        .order_by(_c.c.due_at, _c.c.id)
        .limit(limit)
    )
    if storage.is_postgres:
        pick = pick.with_for_update(skip_locked=True)
    async with storage.write() as conn:
        ids = (await conn.execute(pick)).scalars().all()
        if not ids:
            return []
        rows = await conn.execute(
            update(_c)
            .where(_c.c.id.in_(ids), _c.c.state == "queued")
            .values(state="dialing", lease_owner=owner, lease_until=lease_until, updated_at=now)
            .returning(*_c.c)
        )
        claimed = await _calls(conn, rows)
        if claimed:
            await conn.execute(
                t.call_events.insert(),
                [
                    {
                        "call_id": c.id,
                        "attempt": c.attempts + 1,
                        "kind": "state",
                        "from_state": "queued",
                        "to_state": "dialing",
                        "source": owner,
                        "at": now,
                    }
                    for c in claimed
                ],
            )
    return sorted(claimed, key=lambda c: (c.due_at, c.id))


async def _stuck(
    storage: Storage, state: str, column: Any, before: datetime, limit: int
) -> list[str]:
    async with storage.read() as conn:
        rows = await conn.execute(
            select(_c.c.id)
            .where(_c.c.state == state, column < before)
            .order_by(column)
            .limit(limit)
        )
        return list(rows.scalars().all())


async def expired_leases(storage: Storage, now: datetime, limit: int = 100) -> list[str]:
    """Calls left in ``dialing`` by a worker whose lease ran out (it died mid-dial)."""
    return await _stuck(storage, "dialing", _c.c.lease_until, now, limit)


async def stale_initiated(storage: Storage, before: datetime, limit: int = 100) -> list[str]:
    """Calls initiated before ``before`` that no provider status has ended."""
    return await _stuck(storage, "initiated", _c.c.updated_at, before, limit)


async def change(
    storage: Storage,
    call_id: str,
    decide: Callable[[OutboundCall], CallChange | None],
    notify: Notify | None = None,
) -> OutboundCall | None:
    """Read the call (locked), let ``decide`` say what changes, write it; None if unknown.

    When the change ends an attempt, ``notify`` says which webhook deliveries carry
    that outcome; they are written in the same transaction.
    """
    query = select(_c, *_PER_REQUEST).join(_r, _r.c.id == _c.c.request_id).where(_c.c.id == call_id)
    if storage.is_postgres:
        query = query.with_for_update(of=_c)
    async with storage.write() as conn:
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        call = _call(row)
        plan = decide(call)
        if plan is None:
            return call
        if plan.values:
            row = (
                await conn.execute(
                    update(_c).where(_c.c.id == call_id).values(**plan.values).returning(*_c.c)
                )
            ).one()
        if plan.attempt_insert is not None:
            await conn.execute(
                t.call_attempts.insert().values(call_id=call_id, **plan.attempt_insert)
            )
        if plan.attempt_update is not None:
            a = t.call_attempts
            await conn.execute(
                update(a)
                .where(a.c.call_id == call_id, a.c.attempt == plan.attempt_update.pop("attempt"))
                .values(**plan.attempt_update)
            )
        if plan.events:
            rows = [{**_EVENT_DEFAULTS, **e, "call_id": call_id} for e in plan.events]
            await conn.execute(t.call_events.insert(), rows)
        changed = _call(row, call.email, call.reference_id)
        if plan.outcome is not None and notify is not None:
            a = t.call_attempts
            attempt = (
                await conn.execute(
                    select(a).where(a.c.call_id == call_id, a.c.attempt == changed.attempts)
                )
            ).first()
            found = dict(attempt._mapping) if attempt is not None else {}
            await outbox.enqueue(conn, notify(changed, plan.outcome, found))
        return changed


# -- callbacks ----------------------------------------------------------------------


async def find_call(storage: Storage, candidates: Iterable[str]) -> tuple[str, int | None] | None:
    """(call id, attempt or None) for the first candidate that is our id or a provider's id."""
    ids = [c for c in candidates if c]
    if not ids:
        return None
    a = t.call_attempts
    async with storage.read() as conn:
        ours = await conn.scalar(select(_c.c.id).where(_c.c.id.in_(ids)).limit(1))
        if ours is not None:
            return ours, None
        row = (
            await conn.execute(
                select(a.c.call_id, a.c.attempt).where(a.c.provider_call_id.in_(ids)).limit(1)
            )
        ).first()
    return (row.call_id, row.attempt) if row else None


async def seen_payload(storage: Storage, call_id: str, payload_hash: str) -> bool:
    e = t.call_events
    async with storage.read() as conn:
        found = await conn.scalar(
            select(e.c.id).where(e.c.call_id == call_id, e.c.payload_hash == payload_hash).limit(1)
        )
    return found is not None


# -- the outbound API ---------------------------------------------------------------


async def request_view(storage: Storage, client: str, req_id: str) -> dict[str, Any] | None:
    """The request, each call with its attempts and state history (client-scoped)."""
    r, a, e = t.outbound_requests, t.call_attempts, t.call_events
    async with storage.read() as conn:
        req = (await conn.execute(select(r).where(r.c.id == req_id, r.c.client == client))).first()
        if req is None:
            return None
        rows = await conn.execute(
            select(_c).where(_c.c.request_id == req_id).order_by(_c.c.position)
        )
        calls = [_call(row, req.email, req.reference_id) for row in rows]
        ids = [c.id for c in calls]
        attempts = (
            await conn.execute(select(a).where(a.c.call_id.in_(ids)).order_by(a.c.attempt))
            if ids
            else []
        )
        events = (
            await conn.execute(select(e).where(e.c.call_id.in_(ids)).order_by(e.c.id))
            if ids
            else []
        )
        by_call: dict[str, dict[str, list[dict[str, Any]]]] = {
            i: {"attempts": [], "history": []} for i in ids
        }
        for row in attempts:
            m = dict(row._mapping)
            by_call[m.pop("call_id")]["attempts"].append(_jsonable(m))
        for row in events:
            m = dict(row._mapping)
            m.pop("id")
            m.pop("payload_hash")
            by_call[m.pop("call_id")]["history"].append(_jsonable(m))
    return {
        "obdReqID": req.id,
        "clientID": req.client,
        "flowID": req.flow_id,
        "delayMinutes": req.delay_minutes,
        "createdAt": req.created_at.isoformat(),
        "answer": req.answer,
        "calls": [
            {
                "id": c.id,
                "number": c.number,
                "state": c.state,
                "attempts": c.attempts,
                "maxAttempts": c.max_attempts,
                "dueAt": c.due_at.isoformat(),
                "providerCallId": c.provider_call_id,
                "endCallReason": c.end_call_reason,
                "lastError": c.last_error,
                **by_call[c.id],
            }
            for c in calls
        ],
    }


def _jsonable(m: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in m.items()}


async def cancel(
    storage: Storage, client: str, req_id: str, now: datetime, notify: Notify | None = None
) -> tuple[list[str], list[str]] | None:
    """Cancel the request's calls that have not started; (cancelled, left) ids, or None.

    Each cancelled call is an attempt outcome (``cancelled``) for ``notify``.
    """
    r = t.outbound_requests
    async with storage.write() as conn:
        if await conn.scalar(select(r.c.id).where(r.c.id == req_id, r.c.client == client)) is None:
            return None
        rows = await conn.execute(
            update(_c)
            .where(_c.c.request_id == req_id, _c.c.state == "queued")
            .values(state="cancelled", updated_at=now, lease_owner=None, lease_until=None)
            .returning(*_c.c)
        )
        calls = await _calls(conn, rows)
        done = [(c.id, c.attempts) for c in calls]
        if notify is not None:
            for c in calls:
                await outbox.enqueue(conn, notify(c, "cancelled", {"attempt": c.attempts + 1}))
        if done:
            await conn.execute(
                t.call_events.insert(),
                [
                    {
                        "call_id": cid,
                        "attempt": attempts + 1,
                        "kind": "cancel",
                        "from_state": "queued",
                        "to_state": "cancelled",
                        "source": "api",
                        "at": now,
                    }
                    for cid, attempts in done
                ],
            )
        left = (
            (
                await conn.execute(
                    select(_c.c.id).where(_c.c.request_id == req_id, _c.c.state != "cancelled")
                )
            )
            .scalars()
            .all()
        )
    return [cid for cid, _ in done], list(left)


async def depth(storage: Storage, now: datetime) -> dict[str, int]:
    """Calls by state, plus ``due`` (queued and due now), for /metrics."""
    async with storage.read() as conn:
        rows = await conn.execute(select(_c.c.state, func.count()).group_by(_c.c.state))
        by_state = {str(state): int(n) for state, n in rows.all()}
        due = await conn.scalar(
            select(func.count()).where(and_(_c.c.state == "queued", _c.c.due_at <= now))
        )
    return {**by_state, "due": int(due or 0)}
