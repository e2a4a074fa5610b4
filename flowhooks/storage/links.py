"""Short links (SPEC 2.8): insert (a taken code is a ``CodeTaken``), find, count clicks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage

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
    async with storage.write() as conn:
        await conn.execute(_ADD, rows)
