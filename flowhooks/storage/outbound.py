"""Outbound requests and calls: storing, claiming, moving states, reading them back.

Every change of a call is read-modify-write in one transaction (the row locked with
``FOR UPDATE`` on PostgreSQL; SQLite's single writer): the caller passes a pure
``decide(call) -> CallChange | None`` that says what to write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from flowhooks.cooperative import pieces
from flowhooks.outbound.model import CallChange, NewRequest, OutboundCall, Pace, Stored
from flowhooks.storage import outbox, pacing
from flowhooks.storage import tables as t
from flowhooks.storage.database import SqlTransaction, Storage
from flowhooks.storage.dialect import insert_of, upsert_of
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

_k = t.outbound_keys


@cache
def _take_key(dialect: str) -> Any:
    """Insert the key, or take over an expired one; returns a row only when it did."""
    return upsert_of(
        dialect,
        _k,
        ("client", "key"),
        ("client", "key", "fingerprint", "request_id", "expires_at"),
        where=_k.c.expires_at <= bindparam("now"),  # an expired key is taken over
    ).returning(_k.c.request_id)


_KEY_HOLDER = select(_k.c.fingerprint, _k.c.request_id).where(
    _k.c.client == bindparam("of_client"), _k.c.key == bindparam("of_key")
)
_ANSWER = select(_r.c.answer).where(_r.c.id == bindparam("of_id"))
_REQUEST_COLUMNS = (
    "id",
    "client",
    "flow_id",
    "delay_minutes",
    "email",
    "reference_id",
    "answer",
    "request_id",
    "created_at",
    "webhook_id",
    "webhook_url",
)
_INSERT_REQUEST = insert_of(_r, _REQUEST_COLUMNS)
_CALL_COLUMNS = (
    "id",
    "request_id",
    "client",
    "flow_id",
    "position",
    "number",
    "zone",
    "state",
    "attempts",
    "max_attempts",
    "dial_errors",
    "due_at",
    "created_at",
    "updated_at",
)
_INSERT_CALL = insert_of(_c, _CALL_COLUMNS)
_EVENT_COLUMNS = ("call_id", "attempt", "kind", "from_state", "to_state", "source", "detail", "at")
_INSERT_EVENT = insert_of(t.call_events, _EVENT_COLUMNS)


async def create(storage: Storage, req: NewRequest, now: datetime) -> Stored:
    """One request stored alone (``create_many`` of one)."""
    return (await create_many(storage, [(req, now)]))[0]


async def create_many(
    storage: Storage, batch: Sequence[tuple[NewRequest, datetime]]
) -> list[Stored]:
    """Store requests, their calls and their keys in one transaction; for each, its own
    new answer or the one its key already holds.

    Each key row is inserted first; when (client, key) is already held and not
    expired, the holder's stored answer is returned (or a conflict when the
    fingerprint differs) and nothing new is written for that request. A key taken by an
    earlier request of the same batch answers that request's answer.
    """
    results: list[Stored] = []
    requests: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    taken: dict[str, dict[str, str]] = {}  # request id -> answer, of this batch
    async with storage.hot_write() as tx:
        for req, now in batch:
            took = await tx.rows(
                _take_key(storage.dialect),
                {
                    "client": req.client,
                    "key": req.key,
                    "fingerprint": req.fingerprint,
                    "request_id": req.id,
                    "expires_at": req.key_expires_at,
                    "now": now,
                },
            )
            if not took:
                results.append(await _held(tx, req, taken))
                continue
            taken[req.id] = req.answer
            results.append(Stored(req.answer, created=True))
            requests.append(
                {
                    "id": req.id,
                    "client": req.client,
                    "flow_id": req.flow_id,
                    "delay_minutes": req.delay_minutes,
                    "email": req.email,
                    "reference_id": req.reference_id,
                    "answer": req.answer,
                    "request_id": req.request_id,
                    "created_at": now,
                    "webhook_id": req.webhook_id,
                    "webhook_url": req.webhook_url,
                }
            )
            calls += _call_rows(req, now)
            events += _queued_events(req, now)
        await tx.many(_INSERT_REQUEST, requests)
        async for piece in pieces(calls):  # a big request's rows, a loop turn apart
            await tx.many(_INSERT_CALL, list(piece))
        async for piece in pieces(events):
            await tx.many(_INSERT_EVENT, list(piece))
    return results


async def _held(tx: Any, req: NewRequest, taken: Mapping[str, dict[str, str]]) -> Stored:
    """The answer of the request that holds ``req``'s key (or a conflict)."""
    fingerprint, holder = (
        await tx.rows(_KEY_HOLDER, {"of_client": req.client, "of_key": req.key})
    )[0]
    if fingerprint != req.fingerprint:
        return Stored({}, created=False, conflict=True)
    if holder in taken:
        return Stored(dict(taken[holder]), created=False)
    answer = await tx.rows(_ANSWER, {"of_id": holder})
    return Stored(dict(answer[0][0] or {}) if answer else {}, created=False)


def _call_rows(req: NewRequest, now: datetime) -> list[dict[str, Any]]:
    return [
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
        for c in req.calls
    ]


def _queued_events(req: NewRequest, now: datetime) -> list[dict[str, Any]]:
    return [
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
        for c in req.calls
    ]


# -- the dispatcher ---------------------------------------------------------------


async def clients_with_due_calls(storage: Storage, now: datetime) -> list[str]:
    """The clients that have calls due."""
    async with storage.read() as conn:
        due = await conn.execute(
            select(_c.c.client)
            .where(_c.c.state == "queued", _c.c.due_at <= now)
            .group_by(_c.c.client)
        )
        return [str(client) for client in due.scalars().all()]


async def claim(
    storage: Storage,
    client: str,
    pace: Pace,
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> list[OutboundCall]:
    """Claim the due calls of ``client`` its pace allows: state dialing under a lease.

    The client's ``calls:`` bucket (shared by every dispatcher, in the database) is
    locked first, so dispatchers claim for one client one after another: its calls a
    second and the calls it has dialing or initiated hold across processes.
    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so workers never claim the same call;
    SQLite: one writer, and the update re-checks ``state = 'queued'``.
    """
    async with storage.write() as conn:
        tx = SqlTransaction(conn)
        bucket = await pacing.open_bucket(tx, storage.dialect, f"calls:{client}", pace.per_second)
        active = await conn.scalar(
            select(func.count()).where(
                _c.c.client == client, _c.c.state.in_(("dialing", "initiated"))
            )
        )
        limit = min(bucket.whole, pace.max_concurrent - int(active or 0), pace.max_batch)
        claimed = await _claim(conn, storage, client, limit, owner, now, lease_until)
        await pacing.close_bucket(tx, bucket, len(claimed))
    return sorted(claimed, key=lambda c: (c.due_at, c.id))


async def _claim(
    conn: Any,
    storage: Storage,
    client: str,
    limit: int,
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> list[OutboundCall]:
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
    return claimed


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

# a dialer's promise (storage/promises.py) is bookkeeping, not part of the view
_SHOWN_ATTEMPT = [c for c in t.call_attempts.c if not c.name.startswith("promise")]


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
            await conn.execute(
                select(*_SHOWN_ATTEMPT).where(a.c.call_id.in_(ids)).order_by(a.c.attempt)
            )
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


# -- the console ----------------------------------------------------------------------


SCAN_REQUESTS = 5000  # requests a filtered page looks through at most (bounded time)


async def list_calls(
    storage: Storage,
    client: str,
    *,
    state: str | None,
    number: str | None,
    limit: int,
    before: tuple[datetime, str] | None,
) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
    """A client's calls, newest request first, and the cursor of the next page.

    Walks the requests' own index (client, created_at) back from ``before``: a page
    with a state or number looks through at most ``SCAN_REQUESTS`` requests, so a filter
    that matches little answers as fast as one that matches much (the next page goes
    on from where this one stopped looking).
    """
    window = select(_r.c.id, _r.c.created_at).where(_r.c.client == client)
    if before is not None:
        at, rid = before
        window = window.where(or_(_r.c.created_at < at, and_(_r.c.created_at == at, _r.c.id < rid)))
    filtered = state is not None or number is not None
    size = SCAN_REQUESTS if filtered else limit
    window = window.order_by(_r.c.created_at.desc(), _r.c.id.desc()).limit(size)
    scanned = window.subquery()
    query = select(
        _c.c.id,
        _c.c.request_id,
        _c.c.position,
        _c.c.number,
        _c.c.state,
        _c.c.attempts,
        _c.c.max_attempts,
        _c.c.due_at,
        _c.c.end_call_reason,
        _c.c.updated_at,
    ).join(scanned, scanned.c.id == _c.c.request_id)
    if state is not None:
        query = query.where(_c.c.state == state)
    if number is not None:
        query = query.where(_c.c.number == number)
    async with storage.read() as conn:
        requests = (await conn.execute(window)).all()
        if not requests:
            return [], None
        by_request: dict[str, list[dict[str, Any]]] = {}
        for row in await conn.execute(query):
            by_request.setdefault(row.request_id, []).append(dict(row._mapping))
    shown: list[dict[str, Any]] = []
    last: tuple[datetime, str] | None = None
    for req in requests:  # whole requests only, up to ``limit`` calls
        mine = sorted(by_request.get(req.id, ()), key=lambda c: c["position"])
        if shown and len(shown) + len(mine) > limit:
            return shown, last
        shown += [{**c, "created_at": req.created_at} for c in mine]
        last = (req.created_at, req.id)
    return shown, (last if len(requests) == size else None)


async def states_of(storage: Storage, client: str) -> dict[str, int]:
    """A client's calls by state."""
    async with storage.read() as conn:
        rows = await conn.execute(
            select(_c.c.state, func.count()).where(_c.c.client == client).group_by(_c.c.state)
        )
        return {str(state): int(n) for state, n in rows.all()}


async def requests_by_hour(storage: Storage, client: str, hours: Sequence[datetime]) -> list[int]:
    """How many requests the client made in each hour starting at ``hours`` (each an
    index range count on (client, created_at))."""
    found = []
    async with storage.read() as conn:
        for start in hours:
            n = await conn.scalar(
                select(func.count()).where(
                    _r.c.client == client,
                    _r.c.created_at >= start,
                    _r.c.created_at < start + timedelta(hours=1),
                )
            )
            found.append(int(n or 0))
    return found
