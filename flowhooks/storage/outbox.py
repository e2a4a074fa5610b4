"""The webhook outbox: deliveries written beside their event, claimed under a lease,
finished, listed, re-queued; endpoints disabled by a 410 and enabled again.

A delivery stays ``pending`` while it is attempted; its lease (``lease_owner``,
``lease_until``) marks it in flight, so a worker that dies mid-send leaves it to be
claimed again once the lease runs out. PostgreSQL claims with ``FOR UPDATE SKIP
LOCKED``; SQLite has one writer and the update re-checks the lease.

``webhook_health`` keeps, per endpoint, its failed attempts in a row and its back-off
as a whole (``webhooks.retry.Breaker``), written with each attempt's outcome and
shared by every process: an endpoint backed off is not offered for claims until then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert
from flowhooks.webhooks.endpoints import ID_PREFIX, one_off_endpoint
from flowhooks.webhooks.events import CALL_STATUS, EVENTS, NewDelivery
from flowhooks.webhooks.fairness import Due, Endpoint
from flowhooks.webhooks.retry import Breaker, Decision

_d, _e, _h, _w = t.deliveries, t.webhook_endpoints, t.webhook_health, t.customer_webhooks
STATES = ("pending", "delivered", "dead", "disabled")
OUTCOMES = ("delivered", "failed", "pending", "dead", "disabled")  # an endpoint's 24 hours


@dataclass(frozen=True)
class Claimed:
    seq: int
    id: str
    event_id: str
    client: str
    event: str
    variables: dict[str, Any]
    attempts: int  # including the one about to be made
    give_up_at: datetime
    endpoint: str = ""  # the event (a config hook), a webhookId, or "url:<hash>"
    url: str | None = None  # a one-off URL's
    test: bool | None = None

    @property
    def target(self) -> Endpoint:
        return (self.client, self.endpoint or self.event)


# (endpoint, one-off url, disabled) of each row an event is written as
_Row = tuple[str, str | None, bool]


async def _targets_of(conn: Any, d: NewDelivery) -> list[_Row]:
    """Where one event goes: the endpoint it names; else the endpoint its outbound request
    chose (a webhookId or a one-off webhookUrl: instead of the client's); else the
    client's config hook and every enabled endpoint it made that takes the event."""
    if d.endpoint is not None:
        return [(d.endpoint, d.url, False)]
    request_id = d.variables.get("request_id") if d.event == CALL_STATUS else None
    if request_id:
        r = t.outbound_requests
        choice = (
            await conn.execute(select(r.c.webhook_id, r.c.webhook_url).where(r.c.id == request_id))
        ).first()
        if choice is not None and choice.webhook_id:
            enabled = await conn.scalar(
                select(_w.c.enabled).where(_w.c.id == choice.webhook_id)
            )  # deleted since: written, and dead when its turn comes
            return [(choice.webhook_id, None, enabled is False)]
        if choice is not None and choice.webhook_url:
            return [(one_off_endpoint(choice.webhook_url), choice.webhook_url, False)]
    found: list[_Row] = []
    if d.configured:
        off = await conn.scalar(
            select(_e.c.client).where(_e.c.client == d.client, _e.c.event == d.event)
        )
        found.append((d.event, None, off is not None))
    found += [(i, None, False) for i in await _subscribed(conn, d.client, d.event)]
    return found


async def _subscribed(conn: Any, client: str, event: str) -> list[str]:
    """The ids of the client's enabled stored endpoints that take ``event``."""
    rows = await conn.execute(
        select(_w.c.id, _w.c.events).where(_w.c.client == client, _w.c.enabled.is_(True))
    )
    return sorted(str(r.id) for r in rows if event in (r.events or []))


async def enqueue(conn: Any, deliveries: Sequence[NewDelivery]) -> int:
    """Write each event as one delivery an endpoint it goes to, inside the caller's
    transaction (``disabled`` when that endpoint is); one ``webhook-id`` for them all.
    How many were written (none: no endpoint takes these events)."""
    rows = []
    for d in deliveries:
        for n, (endpoint, url, disabled) in enumerate(await _targets_of(conn, d)):
            rows.append(
                {
                    "id": d.id if n == 0 else str(uuid.uuid4()),
                    "event_id": d.event_id,
                    "client": d.client,
                    "event": d.event,
                    "endpoint": endpoint,
                    "url": url,
                    "test": d.test or None,
                    "variables": d.variables,
                    "state": "disabled" if disabled else "pending",
                    "attempts": 0,
                    "next_attempt_at": d.created_at,
                    "give_up_at": d.give_up_at,
                    "created_at": d.created_at,
                    "updated_at": d.created_at,
                }
            )
    if rows:
        await conn.execute(_d.insert(), rows)
    return len(rows)


def _claimable(now: datetime) -> Any:
    return and_(
        _d.c.state == "pending",
        _d.c.next_attempt_at <= now,
        or_(_d.c.lease_until.is_(None), _d.c.lease_until < now),
    )


def _health_of(client: Any, endpoint: Any) -> Any:
    return and_(_h.c.client == client, _h.c.endpoint == endpoint)


async def due_endpoints(storage: Storage, now: datetime, limit: int = 1000) -> list[Due]:
    """Endpoints with deliveries due now, neither disabled nor backed off, oldest first."""
    enabled = ~exists().where(_e.c.client == _d.c.client, _e.c.event == _d.c.endpoint)
    groups = (
        select(
            _d.c.client,
            _d.c.endpoint,
            func.min(_d.c.seq).label("first"),
            func.count().label("due"),
        )
        .where(_claimable(now), enabled)
        .group_by(_d.c.client, _d.c.endpoint)
        .subquery()
    )
    # joined per endpoint, not per delivery: a backlog costs its scan, not a lookup a row
    joined = groups.outerjoin(_h, _health_of(groups.c.client, groups.c.endpoint))
    async with storage.read() as conn:
        rows = await conn.execute(
            select(groups.c.client, groups.c.endpoint, groups.c.first, groups.c.due, _h.c.failures)
            .select_from(joined)
            .where(or_(_h.c.backed_off_until.is_(None), _h.c.backed_off_until <= now))
            .order_by(groups.c.first)
            .limit(limit)
        )
        return [
            Due((str(r.client), str(r.endpoint)), int(r.due), int(r.failures or 0), int(r.first))
            for r in rows
        ]


async def claim(
    storage: Storage,
    grants: Mapping[Endpoint, int],
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> list[Claimed]:
    """Claim up to ``grants[endpoint]`` due deliveries of each endpoint, oldest event
    first, in one transaction (none of an endpoint backed off since it was offered)."""
    seqs: list[int] = []
    async with storage.write() as conn:
        for (client, endpoint), limit in grants.items():
            if limit <= 0:
                continue
            pick = (
                select(_d.c.seq)
                .where(_d.c.client == client, _d.c.endpoint == endpoint, _d.c.state == "pending")
                # not an index condition (COALESCE): read the endpoint's index in seq order and
                # stop at ``limit``; on ix_deliveries_due SQLite sorted the whole backlog a claim
                .where(func.coalesce(_d.c.next_attempt_at, _d.c.next_attempt_at) <= now)
                .where(or_(_d.c.lease_until.is_(None), _d.c.lease_until < now))
                .where(~exists().where(_health_of(client, endpoint), _h.c.backed_off_until > now))
                .order_by(_d.c.seq)
                .limit(limit)
            )
            if storage.is_postgres:
                pick = pick.with_for_update(skip_locked=True)
            seqs += (await conn.execute(pick)).scalars().all()
        if not seqs:
            return []
        rows = await conn.execute(
            update(_d)
            .where(_d.c.seq.in_(seqs), _claimable(now))
            .values(
                lease_owner=owner,
                lease_until=lease_until,
                attempts=_d.c.attempts + 1,
                updated_at=now,
            )
            .returning(
                _d.c.seq,
                _d.c.id,
                _d.c.event_id,
                _d.c.client,
                _d.c.event,
                _d.c.variables,
                _d.c.attempts,
                _d.c.give_up_at,
                _d.c.endpoint,
                _d.c.url,
                _d.c.test,
            )
        )
        claimed = [Claimed(**r._mapping) for r in rows]
    return sorted(claimed, key=lambda c: c.seq)


@dataclass(frozen=True)
class EndpointReport:
    """What one attempt says about its endpoint, written with the attempt's outcome."""

    failed: bool  # not delivered: a timeout, a failed connection, another answer
    was_failing: bool  # its endpoint had failures when claimed (a success resets them)
    error: str
    fingerprint: str  # of the endpoint's URL
    breaker: Breaker
    rand: float  # for the back-off's jitter


@dataclass(frozen=True)
class Finished:
    ours: bool  # False: the lease had been taken over, nothing was written
    backed_off_until: datetime | None = None  # this failure backed the endpoint off
    recovered: bool = False  # this success ended the endpoint's failures


@dataclass(frozen=True)
class Outcome:
    """One attempt's outcome, to write."""

    claimed: Claimed
    decision: Decision
    status: int | None
    now: datetime
    fingerprint: str = ""
    report: EndpointReport | None = None
    elapsed_ms: float | None = None


def _typed(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


# one statement for every outcome (executemany): a column an outcome leaves alone is
# bound NULL and kept by COALESCE
_FINISH = (
    update(_d)
    .where(
        _d.c.seq == bindparam("b_seq"),
        _d.c.state == "pending",
        _d.c.lease_owner == bindparam("b_owner"),
    )
    .values(
        state=bindparam("b_state"),
        last_status=bindparam("b_status", type_=Integer()),
        last_error=bindparam("b_error", type_=String()),
        lease_owner=None,
        lease_until=None,
        updated_at=_typed("b_now", _d.c.updated_at),
        delivered_at=func.coalesce(_typed("b_delivered", _d.c.delivered_at), _d.c.delivered_at),
        next_attempt_at=func.coalesce(_typed("b_next", _d.c.next_attempt_at), _d.c.next_attempt_at),
    )
)


async def finish(
    storage: Storage,
    claimed: Claimed,
    owner: str,
    decision: Decision,
    status: int | None,
    now: datetime,
    fingerprint: str = "",
    report: EndpointReport | None = None,
    elapsed_ms: float | None = None,
) -> Finished:
    """Write an attempt's outcome, and its endpoint's health, if the delivery is still ours.

    The attempt itself is kept too (``delivery_attempts``: the console lists them)."""
    outcome = Outcome(claimed, decision, status, now, fingerprint, report, elapsed_ms)
    return (await finish_many(storage, owner, [outcome]))[0]


async def finish_many(storage: Storage, owner: str, outcomes: Sequence[Outcome]) -> list[Finished]:
    """``finish`` for attempts that ended together, in one transaction (the delivery
    loop's group commit: a transaction's fixed cost was most of a delivery's writes).
    An outcome whose delivery is no longer ours (its lease was taken over) writes nothing."""
    seqs = [o.claimed.seq for o in outcomes]
    async with storage.write() as conn:
        held = await conn.execute(
            select(_d.c.seq)
            .where(_d.c.seq.in_(seqs), _d.c.state == "pending", _d.c.lease_owner == owner)
            .with_for_update()
        )
        ours = set(held.scalars())
        mine = [o for o in outcomes if o.claimed.seq in ours]
        if mine:
            await conn.execute(_FINISH, [_finish_row(o, owner) for o in mine])
            await conn.execute(t.delivery_attempts.insert(), [_attempt_row(o) for o in mine])
        finished: list[Finished] = []
        for o in outcomes:
            if o.claimed.seq not in ours:
                finished.append(Finished(ours=False))
                continue
            if o.decision.state == "disabled":
                await _disable(conn, o.claimed.target, o.fingerprint, o.now, o.decision)
            if o.report is None:
                finished.append(Finished(ours=True))
            else:
                finished.append(await _record(conn, o.claimed.target, o.report, o.now))
        return finished


def _error_of(decision: Decision) -> str | None:
    return None if decision.error is None else decision.error[:500]


def _finish_row(o: Outcome, owner: str) -> dict[str, Any]:
    return {
        "b_seq": o.claimed.seq,
        "b_owner": owner,
        "b_state": o.decision.state,
        "b_status": o.status,
        "b_error": _error_of(o.decision),
        "b_now": o.now,
        "b_delivered": o.now if o.decision.state == "delivered" else None,
        "b_next": o.decision.next_attempt_at,
    }


def _attempt_row(o: Outcome) -> dict[str, Any]:
    return {
        "delivery_seq": o.claimed.seq,
        "attempt": o.claimed.attempts,
        "at": o.now,
        "outcome": o.decision.state,
        "status": o.status,
        "error": _error_of(o.decision),
        "elapsed_ms": o.elapsed_ms,
    }


async def _record(conn: Any, endpoint: Endpoint, report: EndpointReport, now: datetime) -> Finished:
    """Count a failure (backing the endpoint off when the breaker says so) or end them."""
    if not report.failed and not report.was_failing:  # the common case: nothing to write
        return Finished(ours=True)
    this = _health_of(*endpoint)
    if not report.failed:
        ended = await conn.execute(
            update(_h)
            .where(this, _h.c.failures > 0)
            .values(
                failures=0,
                backoffs=0,
                backed_off_until=None,
                last_error=None,
                failing_since=None,
                updated_at=now,
            )
            .returning(_h.c.client)
        )
        return Finished(ours=True, recovered=ended.first() is not None)
    stmt = insert(conn, _h).values(
        client=endpoint[0],
        endpoint=endpoint[1],
        fingerprint=report.fingerprint,
        failures=1,
        backoffs=0,
        last_error=report.error[:200],
        failing_since=now,
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_h.c.client, _h.c.endpoint],
        set_={
            "failures": _h.c.failures + 1,
            "fingerprint": stmt.excluded.fingerprint,
            "last_error": stmt.excluded.last_error,
            "failing_since": func.coalesce(_h.c.failing_since, stmt.excluded.failing_since),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    row = (
        await conn.execute(stmt.returning(_h.c.failures, _h.c.backoffs, _h.c.backed_off_until))
    ).one()
    backoff = report.breaker.back_off(
        row.failures, row.backoffs, row.backed_off_until, now, report.rand
    )
    if backoff is None:
        return Finished(ours=True)
    backoffs, until = backoff
    await conn.execute(update(_h).where(this).values(backoffs=backoffs, backed_off_until=until))
    return Finished(ours=True, backed_off_until=until)


async def _disable(
    conn: Any, endpoint: Endpoint, fingerprint: str, now: datetime, decision: Decision
) -> None:
    """A 410: that one endpoint waits, disabled, with every pending delivery to it."""
    client, name = endpoint
    reason = (decision.error or "")[:200]
    if name in EVENTS:  # a config hook
        stmt = insert(conn, _e).values(
            client=client, event=name, fingerprint=fingerprint, disabled_at=now, reason=reason
        )
        await conn.execute(stmt.on_conflict_do_nothing(index_elements=[_e.c.client, _e.c.event]))
    elif name.startswith(ID_PREFIX):
        await conn.execute(
            update(_w)
            .where(_w.c.client == client, _w.c.id == name, _w.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )
    await hold(conn, endpoint, now)


async def hold(conn: Any, endpoint: Endpoint, now: datetime) -> None:
    """An endpoint's pending deliveries wait as ``disabled`` (it was disabled)."""
    await conn.execute(
        update(_d)
        .where(_d.c.client == endpoint[0], _d.c.endpoint == endpoint[1], _d.c.state == "pending")
        .values(state="disabled", lease_owner=None, lease_until=None, updated_at=now)
    )


async def release(conn: Any, endpoint: Endpoint, now: datetime, give_up: timedelta) -> int:
    """An endpoint enabled again: its disabled deliveries are due now, its back-off ends."""
    await _probe_now(conn, *endpoint)
    rows = await conn.execute(
        update(_d)
        .where(_d.c.client == endpoint[0], _d.c.endpoint == endpoint[1], _d.c.state == "disabled")
        .values(**_requeue(now, give_up))
        .returning(_d.c.seq)
    )
    return len(rows.all())


async def drop(conn: Any, endpoint: Endpoint, now: datetime, why: str) -> None:
    """An endpoint deleted: what still waited for it is dead, its health forgotten."""
    await conn.execute(
        update(_d)
        .where(
            _d.c.client == endpoint[0],
            _d.c.endpoint == endpoint[1],
            _d.c.state.in_(("pending", "disabled")),
        )
        .values(state="dead", last_error=why, lease_owner=None, lease_until=None, updated_at=now)
    )
    await conn.execute(delete(_h).where(_health_of(*endpoint)))


def _requeue(now: datetime, give_up: timedelta) -> dict[str, Any]:
    return {
        "state": "pending",
        "next_attempt_at": now,
        "give_up_at": now + give_up,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": now,
    }


async def enable(
    storage: Storage, client: str, event: str, now: datetime, give_up: timedelta
) -> int:
    """Enable an endpoint: its disabled deliveries become due now; how many."""
    async with storage.write() as conn:
        return await _enable(conn, client, event, now, give_up)


async def _probe_now(conn: Any, client: str, event: str) -> None:
    """The customer says the endpoint works again: end its back-off (its failures stay,
    so it is probed one attempt at a time)."""
    await conn.execute(update(_h).where(_health_of(client, event)).values(backed_off_until=None))


async def _enable(conn: Any, client: str, event: str, now: datetime, give_up: timedelta) -> int:
    """A config hook (``event``) or a stored endpoint (its webhookId) enabled again."""
    if event.startswith(ID_PREFIX):
        await conn.execute(
            update(_w)
            .where(_w.c.client == client, _w.c.id == event)
            .values(enabled=True, disabled_reason=None, updated_at=now)
        )
    else:
        await conn.execute(delete(_e).where(_e.c.client == client, _e.c.event == event))
    return await release(conn, (client, event), now, give_up)


async def enable_changed(
    storage: Storage, fingerprints: Mapping[tuple[str, str], str], now: datetime, give_up: timedelta
) -> list[tuple[str, str]]:
    """At start: enable each disabled endpoint whose URL the config changed (or dropped),
    and forget the failures of every endpoint whose URL changed."""
    async with storage.write() as conn:
        health = select(_h.c.client, _h.c.endpoint, _h.c.fingerprint).where(
            _h.c.endpoint.in_(EVENTS)  # the config's hooks: stored endpoints change by API
        )
        for r in (await conn.execute(health)).all():
            if fingerprints.get((r.client, r.endpoint)) != r.fingerprint:
                await conn.execute(delete(_h).where(_health_of(r.client, r.endpoint)))
        rows = (await conn.execute(select(_e.c.client, _e.c.event, _e.c.fingerprint))).all()
        changed = [
            (r.client, r.event)
            for r in rows
            if fingerprints.get((r.client, r.event)) != r.fingerprint
        ]
        for client, event in changed:
            await _enable(conn, client, event, now, give_up)
    return changed


async def retry(
    storage: Storage, client: str, delivery_id: str, now: datetime, give_up: timedelta
) -> str | None:
    """Re-queue a dead or disabled delivery for an attempt now; its state before, or None.

    A disabled one enables its endpoint (its other disabled deliveries follow): the
    customer says the endpoint works again.
    """
    async with storage.write() as conn:
        row = (
            await conn.execute(
                select(_d.c.seq, _d.c.state, _d.c.endpoint).where(
                    _d.c.id == delivery_id, _d.c.client == client
                )
            )
        ).first()
        if row is None:
            return None
        if row.state == "disabled":
            await _enable(conn, client, row.endpoint, now, give_up)
        elif row.state == "dead":
            await conn.execute(
                update(_d).where(_d.c.seq == row.seq).values(**_requeue(now, give_up))
            )
            await _probe_now(conn, client, row.endpoint)
        return str(row.state)


async def listing(
    storage: Storage,
    client: str,
    *,
    state: str | None,
    event: str | None,
    limit: int,
    before: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
    endpoint: str | None = None,
) -> list[dict[str, Any]]:
    """A client's deliveries, newest first, after the keyset ``before`` (a seq); made
    from ``since`` (inclusive) to ``until`` (exclusive) when given; to one endpoint."""
    query = _selected(client, state, event, since, until)
    if endpoint is not None:
        query = query.where(_d.c.endpoint == endpoint)
    if before is not None:
        query = query.where(_d.c.seq < before)
    async with storage.read() as conn:
        rows = await conn.execute(query.order_by(_d.c.seq.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def _selected(
    client: str,
    state: str | None,
    event: str | None,
    since: datetime | None,
    until: datetime | None,
    columns: Sequence[Any] = (_d,),
) -> Any:
    query = select(*columns).where(_d.c.client == client)
    if state is not None:
        query = query.where(_d.c.state == state)
    if event is not None:
        query = query.where(_d.c.event == event)
    if since is not None:
        query = query.where(_d.c.created_at >= since)
    if until is not None:
        query = query.where(_d.c.created_at < until)
    return query


async def retry_dead(
    storage: Storage,
    client: str,
    now: datetime,
    give_up: timedelta,
    *,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    endpoint: str | None = None,
    batch: int = 1000,
) -> int:
    """Re-queue every dead delivery of a selection (to one endpoint when given) for an
    attempt now, a batch a transaction; how many. Like ``retry`` of one, the back-off of
    each endpoint they go to ends: the customer says it works again."""
    total, probed = 0, set[str]()
    while True:
        async with storage.write() as conn:
            pick = _selected(client, "dead", event, since, until, (_d.c.seq, _d.c.endpoint))
            if endpoint is not None:
                pick = pick.where(_d.c.endpoint == endpoint)
            rows = (await conn.execute(pick.limit(batch))).all()
            if rows:
                await conn.execute(
                    update(_d)
                    .where(_d.c.seq.in_([r.seq for r in rows]), _d.c.state == "dead")
                    .values(**_requeue(now, give_up))
                )
            for name in {str(r.endpoint) for r in rows if r.endpoint} - probed:
                await _probe_now(conn, client, name)
                probed.add(name)
        total += len(rows)
        if len(rows) < batch:
            return total


async def attempts_of(storage: Storage, seqs: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Every recorded attempt of these deliveries, in order, by delivery seq."""
    a = t.delivery_attempts
    found: dict[int, list[dict[str, Any]]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    async with storage.read() as conn:
        rows = await conn.execute(
            select(a.c.delivery_seq, a.c.attempt, a.c.at, a.c.outcome, a.c.status, a.c.error)
            .add_columns(a.c.elapsed_ms)
            .where(a.c.delivery_seq.in_(seqs))
            .order_by(a.c.delivery_seq, a.c.attempt, a.c.id)
        )
        for r in rows:
            found[int(r.delivery_seq)].append(dict(r._mapping))
    return found


async def disabled_endpoints(storage: Storage, client: str) -> dict[str, dict[str, Any]]:
    """The client's endpoints a 410 disabled: event -> disabled_at, reason."""
    async with storage.read() as conn:
        rows = await conn.execute(
            select(_e.c.event, _e.c.disabled_at, _e.c.reason).where(_e.c.client == client)
        )
        return {str(r.event): {"disabled_at": r.disabled_at, "reason": r.reason} for r in rows}


async def enqueue_now(storage: Storage, deliveries: Sequence[NewDelivery]) -> None:
    """Write deliveries in a transaction of their own (a test event)."""
    async with storage.write() as conn:
        await enqueue(conn, deliveries)


async def endpoint_stats(storage: Storage, endpoint: Endpoint, since: datetime) -> dict[str, Any]:
    """One endpoint's deliveries made since ``since`` by what became of them (``failed``:
    pending after a failed attempt, retried later), and its last success and failure."""
    mine = and_(_d.c.client == endpoint[0], _d.c.endpoint == endpoint[1])
    retrying = and_(_d.c.state == "pending", _d.c.last_error.is_not(None))
    kind = case((retrying, "failed"), else_=_d.c.state)
    a = t.delivery_attempts
    async with storage.read() as conn:
        rows = await conn.execute(
            select(kind.label("kind"), func.count())
            .where(mine, _d.c.created_at >= since)
            .group_by(kind)
        )
        counts = {str(k): int(n) for k, n in rows.all()}
        success = await conn.scalar(select(func.max(_d.c.delivered_at)).where(mine))
        failure = await conn.scalar(
            select(func.max(a.c.at))
            .select_from(a.join(_d, _d.c.seq == a.c.delivery_seq))
            .where(mine, a.c.outcome != "delivered")
        )
    return {
        "counts": {k: counts.get(k, 0) for k in OUTCOMES},
        "last_success_at": success,
        "last_failure_at": failure,
    }


async def endpoints_stats(
    storage: Storage, client: str, since: datetime
) -> dict[str, dict[str, Any]]:
    """``endpoint_stats`` of every endpoint of a client at once, all of it since ``since``
    (the last success and failure too: among the attempts since then), in two grouped
    reads of that window (the webhooks page; one endpoint's whole history costs a scan)."""
    retrying = and_(_d.c.state == "pending", _d.c.last_error.is_not(None))
    kind = case((retrying, "failed"), else_=_d.c.state)
    name = func.coalesce(_d.c.endpoint, _d.c.event)
    # the window's index, not the client's: ``client || ''`` hides the client's indexes
    # from SQLite's planner (without statistics it would scan the client's whole history)
    mine = _d.c.client.concat("") == client
    a = t.delivery_attempts
    outcome = case((a.c.outcome == "delivered", "last_success_at"), else_="last_failure_at")
    found: dict[str, dict[str, Any]] = {}

    def stats(endpoint: str) -> dict[str, Any]:
        empty = {"counts": dict.fromkeys(OUTCOMES, 0), "last_success_at": None}
        return found.setdefault(endpoint, {**empty, "last_failure_at": None})

    async with storage.read() as conn:
        rows = await conn.execute(
            select(name.label("endpoint"), kind.label("kind"), func.count())
            .where(mine, _d.c.created_at >= since)
            .group_by(name, kind)
        )
        for endpoint, k, n in rows.all():
            stats(str(endpoint))["counts"][str(k)] = int(n)
        # the deliveries the window's attempts are of, as a range of their key: without
        # it PostgreSQL hashes the join over every client's whole outbox
        low = await conn.scalar(select(func.min(a.c.delivery_seq)).where(a.c.at >= since))
        rows = await conn.execute(
            select(name.label("endpoint"), outcome.label("outcome"), func.max(a.c.at))
            .select_from(a.join(_d, _d.c.seq == a.c.delivery_seq))
            .where(a.c.at >= since, _d.c.seq >= (low or 0), mine)
            .group_by(name, outcome)
        )
        for endpoint, which, at in rows.all():
            stats(str(endpoint))[str(which)] = at
    return found


async def depth(storage: Storage) -> dict[str, int]:
    """Deliveries by state, for /metrics."""
    async with storage.read() as conn:
        rows = await conn.execute(select(_d.c.state, func.count()).group_by(_d.c.state))
        found = {str(state): int(n) for state, n in rows.all()}
    return {state: found.get(state, 0) for state in STATES}


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint whose last attempts failed."""

    client: str
    endpoint: str
    failures: int
    backed_off_until: datetime | None
    failing_since: datetime | None
    last_error: str | None

    def backed_off(self, now: datetime) -> bool:
        return self.backed_off_until is not None and self.backed_off_until > now


async def failing_endpoints(storage: Storage, limit: int = 1000) -> list[EndpointHealth]:
    """Endpoints whose last attempt failed (backed off or not), for /readyz and /metrics."""
    async with storage.read() as conn:
        rows = await conn.execute(
            select(
                _h.c.client,
                _h.c.endpoint,
                _h.c.failures,
                _h.c.backed_off_until,
                _h.c.failing_since,
                _h.c.last_error,
            )
            .where(_h.c.failures > 0)
            .order_by(_h.c.client, _h.c.endpoint)
            .limit(limit)
        )
        return [EndpointHealth(**r._mapping) for r in rows]


async def endpoint_counts(storage: Storage, now: datetime) -> dict[str, int]:
    """How many endpoints are backed off now and how many are failing but not, for /metrics."""
    failing = await failing_endpoints(storage)
    backed_off = sum(h.backed_off(now) for h in failing)
    return {"backed_off": backed_off, "failing": len(failing) - backed_off}
