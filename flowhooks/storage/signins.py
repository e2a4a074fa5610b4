"""Failed console sign-ins by address, in the database so every process counts them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage

_f = t.signin_failures


async def failures_since(storage: Storage, address: str, since: datetime) -> int:
    address = address[:64]
    async with storage.read() as conn:
        found = await conn.scalar(
            select(func.count()).where(_f.c.address == address, _f.c.at >= since)
        )
    return int(found or 0)


async def record_failure(
    storage: Storage, address: str, now: datetime, forget_before: datetime
) -> None:
    """Count one failure of ``address``; its failures older than ``forget_before`` go."""
    address = address[:64]
    async with storage.write() as conn:
        await conn.execute(delete(_f).where(_f.c.address == address, _f.c.at < forget_before))
        await conn.execute(_f.insert().values(address=address, at=now))
