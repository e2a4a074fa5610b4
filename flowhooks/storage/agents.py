"""Direct-dial agents (SPEC 2.7): registration, break status with audit, allocation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, false, not_, select, true, update

from flowhooks.errors import StorageUnavailable
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert


class PauseAction(StrEnum):
    PAUSE = "pause"
    UNPAUSE = "unpause"
    TOGGLE = "toggle"


@dataclass(frozen=True)
class Agent:
    client: str
    cli: str
    name: str
    did: str
    paused: bool
    last_allotted_at: datetime | None
    source: str
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "cli": self.cli,
            "name": self.name,
            "did": self.did,
            "paused": self.paused,
            "lastAllottedAt": _iso(self.last_allotted_at),
            "source": self.source,
            "updatedAt": _iso(self.updated_at),
        }


def _agent(row: Any) -> Agent:
    fields = dict(row._mapping)
    fields.pop("allotments", None)
    return Agent(**fields)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def upsert(
    storage: Storage,
    agents: Iterable[tuple[str, str, str, str]],
    source: str,
    now: datetime,
    request_id: str = "",
) -> None:
    """Register (client, cli, name, did) agents; a known agent keeps its break state."""
    a = t.agents
    async with storage.write() as conn:
        for client, cli, name, did in agents:
            stmt = insert(conn, a).values(
                client=client,
                cli=cli,
                name=name,
                did=did,
                paused=False,
                source=source,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[a.c.client, a.c.cli],
                set_={"name": name, "did": did, "source": source, "updated_at": now},
            )
            await conn.execute(stmt)
            if source == "api":
                await conn.execute(
                    t.agent_events.insert().values(
                        client=client,
                        cli=cli,
                        action="register",
                        paused=await conn.scalar(
                            select(a.c.paused).where(a.c.client == client, a.c.cli == cli)
                        ),
                        at=now,
                        request_id=request_id,
                        detail={"name": name, "did": did},
                    )
                )


async def get(storage: Storage, client: str, cli: str) -> Agent | None:
    a = t.agents
    async with storage.read() as conn:
        row = (await conn.execute(select(a).where(a.c.client == client, a.c.cli == cli))).first()
    return _agent(row) if row else None


_a = t.agents
# (an UPDATE's own column names cannot name its WHERE parameters)
_THE_AGENT = (_a.c.client == bindparam("of_client"), _a.c.cli == bindparam("of_cli"))
_AGENT_COLUMNS = (  # Agent's fields, in order
    _a.c.client,
    _a.c.cli,
    _a.c.name,
    _a.c.did,
    _a.c.paused,
    _a.c.last_allotted_at,
    _a.c.source,
    _a.c.updated_at,
)
_PAUSE = {
    action: update(_a)
    .where(*_THE_AGENT)
    .values(paused=state, updated_at=bindparam("now"))
    .returning(*_AGENT_COLUMNS)
    for action, state in (
        (PauseAction.PAUSE, true()),
        (PauseAction.UNPAUSE, false()),
        (PauseAction.TOGGLE, not_(_a.c.paused)),
    )
}
_PAUSE_EVENT = t.agent_events.insert().values(
    client=bindparam("client"),
    cli=bindparam("cli"),
    action=bindparam("action"),
    paused=bindparam("paused"),
    at=bindparam("now"),
    request_id=bindparam("request_id"),
)


async def set_pause(
    storage: Storage, client: str, cli: str, action: PauseAction, now: datetime, request_id: str
) -> Agent | None:
    """Pause, unpause or toggle in one statement; the change is kept for audit."""
    async with storage.hot_write() as tx:
        found = await tx.rows(_PAUSE[action], {"of_client": client, "of_cli": cli, "now": now})
        if not found:
            return None
        agent = Agent(*found[0])
        await tx.rows(
            _PAUSE_EVENT,
            {
                "client": client,
                "cli": cli,
                "action": action.value,
                "paused": agent.paused,
                "now": now,
                "request_id": request_id,
            },
        )
    return agent


async def history(
    storage: Storage, client: str, cli: str, limit: int = 100
) -> list[dict[str, Any]]:
    e = t.agent_events
    async with storage.read() as conn:
        rows = await conn.execute(
            select(e.c.action, e.c.paused, e.c.at, e.c.request_id, e.c.detail)
            .where(e.c.client == client, e.c.cli == cli)
            .order_by(e.c.id.desc())
            .limit(limit)
        )
        return [
            {
                "action": r.action,
                "paused": r.paused,
                "at": r.at.isoformat(),
                "requestId": r.request_id,
                **({"detail": r.detail} if r.detail else {}),
            }
            for r in rows
        ]


ALLOCATE_TRIES = 20
_CANDIDATES = (
    _a.c.client == bindparam("of_client"),
    _a.c.did == bindparam("of_did"),
    _a.c.paused == False,  # noqa: E712
)
_BEST = (
    select(_a.c.cli, _a.c.allotments)
    .where(*_CANDIDATES)
    .order_by(_a.c.last_allotted_at.asc().nulls_first(), _a.c.allotments, _a.c.cli)
    .limit(1)
    .cte("best")
)
# one statement: pick the best candidate and take it only if its allotment count is
# still the one read (a compare-and-set); no row when another allocation took it first
_ALLOT = (
    update(_a)
    .where(
        _a.c.client == bindparam("of_client"),
        _a.c.cli == _BEST.c.cli,
        _a.c.allotments == _BEST.c.allotments,
        _a.c.paused == False,  # noqa: E712
    )
    .values(last_allotted_at=bindparam("now"), allotments=_a.c.allotments + 1)
    .returning(*_AGENT_COLUMNS)
)
_ANY_CANDIDATE = select(_a.c.cli).where(*_CANDIDATES).limit(1)


async def allocate(storage: Storage, client: str, did: str, now: datetime) -> Agent | None:
    """The unpaused agent of ``did`` that waited longest since its last allotment.

    Optimistic, in one statement a try: the best candidate is taken only if its
    allotment count is unchanged since it was read; when another allocation took it
    first, the next try finds the next best. (``FOR UPDATE SKIP LOCKED`` with
    ``ORDER BY … LIMIT 1`` is not enough: a transaction re-checks only the WHERE
    clause of a row another one just updated, and could hand out the same agent
    twice.)
    """
    where = {"of_client": client, "of_did": did}
    for _ in range(ALLOCATE_TRIES):
        row = await storage.write_one(_ALLOT, {**where, "now": now})
        if row:
            return Agent(*row[0])
        if not await storage.rows(_ANY_CANDIDATE, where):
            return None  # every agent of the DID is paused (or there is none)
    raise StorageUnavailable("could not allot an agent: too much contention")


async def listing(
    storage: Storage, client: str, limit: int, after: str | None = None
) -> list[Agent]:
    """A client's agents by number, after the keyset ``after`` (a cli)."""
    query = select(*_AGENT_COLUMNS).where(_a.c.client == client)
    if after is not None:
        query = query.where(_a.c.cli > after)
    async with storage.read() as conn:
        rows = await conn.execute(query.order_by(_a.c.cli).limit(limit))
        return [Agent(*r) for r in rows]
