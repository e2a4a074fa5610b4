"""Short links (SPEC 2.8): insert (a taken code is a ``CodeTaken``), find, count clicks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage
from flowhooks.storage.dialect import insert_for

_l = t.links


class CodeTaken(Exception):
    """Another link has this code already (draw another)."""


@dataclass(frozen=True)
class StoredLink:
    code: str
    client: str
    long_url: str
    created_at: datetime
    expires_at: datetime | None
    clicks: int = 0
    bot_clicks: int = 0
    last_click_at: datetime | None = None


@dataclass(frozen=True)
class Clicks:
    """Clicks on one link counted since the last flush."""

    code: str
    clicks: int
    bot_clicks: int
    last_at: datetime
    days: tuple[tuple[date, int, int], ...] = ()  # (UTC day, clicks, bot clicks)


async def insert(storage: Storage, link: StoredLink) -> None:
    try:
        async with storage.write() as conn:
            await conn.execute(
                _l.insert().values(
                    code=link.code,
                    client=link.client,
                    long_url=link.long_url,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    clicks=0,
                    bot_clicks=0,
                )
            )
    except IntegrityError:
        raise CodeTaken(link.code) from None


_FIND = select(
    _l.c.code,
    _l.c.client,
    _l.c.long_url,
    _l.c.created_at,
    _l.c.expires_at,
    _l.c.clicks,
    _l.c.bot_clicks,
    _l.c.last_click_at,
).where(_l.c.code == bindparam("code"))


async def find(storage: Storage, code: str) -> StoredLink | None:
    async with storage.read() as conn:
        row = (await conn.execute(_FIND, {"code": code})).first()
    return None if row is None else StoredLink(*row)


_last = bindparam("last_at", type_=t.UTCDateTime)
_ADD = (
    update(_l)
    .where(_l.c.code == bindparam("the_code"))
    .values(
        clicks=_l.c.clicks + bindparam("n"),
        bot_clicks=_l.c.bot_clicks + bindparam("bots"),
        last_click_at=case(
            (or_(_l.c.last_click_at.is_(None), _l.c.last_click_at < _last), _last),
            else_=_l.c.last_click_at,
        ),
    )
)


async def add_clicks(storage: Storage, batch: Sequence[Clicks]) -> None:
    """Every link's counted clicks in one transaction (one statement, many rows)."""
    if not batch:
        return
    rows = [
        {"the_code": c.code, "n": c.clicks, "bots": c.bot_clicks, "last_at": c.last_at}
        for c in batch
    ]
    days = [
        {"code": c.code, "day": day, "clicks": people, "bot_clicks": bots}
        for c in batch
        for day, people, bots in c.days
    ]
    async with storage.write() as conn:
        await conn.execute(_ADD, rows)
        if days:
            await conn.execute(_add_days(storage.dialect), days)


@cache
def _add_days(dialect: str) -> Any:
    d = t.link_days
    stmt = insert_for(dialect, d).values(
        {n: bindparam(n) for n in ("code", "day", "clicks", "bot_clicks")}
    )
    return stmt.on_conflict_do_update(
        index_elements=[d.c.code, d.c.day],
        set_={
            "clicks": d.c.clicks + stmt.excluded.clicks,
            "bot_clicks": d.c.bot_clicks + stmt.excluded.bot_clicks,
        },
    )


async def listing(
    storage: Storage, client: str, limit: int, before: tuple[datetime, str] | None
) -> list[StoredLink]:
    """A client's links, newest first, before the keyset (created_at, code)."""
    query = select(*_FIND.selected_columns).where(_l.c.client == client)
    if before is not None:
        at, code = before
        query = query.where(
            or_(_l.c.created_at < at, and_(_l.c.created_at == at, _l.c.code < code))
        )
    async with storage.read() as conn:
        rows = await conn.execute(
            query.order_by(_l.c.created_at.desc(), _l.c.code.desc()).limit(limit)
        )
        return [StoredLink(*r) for r in rows]


async def days(storage: Storage, code: str, since: date) -> list[tuple[date, int, int]]:
    """(day, clicks, bot clicks) of a link from ``since`` on, days without clicks left out."""
    d = t.link_days
    async with storage.read() as conn:
        rows = await conn.execute(
            select(d.c.day, d.c.clicks, d.c.bot_clicks)
            .where(d.c.code == code, d.c.day >= since)
            .order_by(d.c.day)
        )
        return [(r.day, int(r.clicks), int(r.bot_clicks)) for r in rows]
