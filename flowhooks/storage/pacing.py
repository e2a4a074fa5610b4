"""Token buckets in the database, shared by every process (SPEC 2.2 pacing, 4 scale).

One row a bucket (``calls:acme``, ``requests:acme``): a transaction locks it, refills
it by the time passed on the *database's* clock (so processes on several hosts agree),
spends, and writes it back. The arithmetic is the pure ``outbound.pacing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, literal, select, update

from flowhooks.outbound.pacing import refill_and_take
from flowhooks.storage import tables as t
from flowhooks.storage.database import HotTransaction
from flowhooks.storage.dialect import insert_for

_b = t.rate_buckets
_UNIX_EPOCH_JULIAN = 2440587.5


def _db_now(dialect: str) -> Any:
    """Seconds since the epoch on the database's clock."""
    if dialect == "postgresql":
        return func.extract("epoch", func.clock_timestamp())
    return (func.julianday("now") - literal(_UNIX_EPOCH_JULIAN)) * literal(86400.0)


@cache
def _create(dialect: str) -> Any:
    return (
        insert_for(dialect, _b)
        .values(name=bindparam("name"), tokens=bindparam("tokens"), stamp=_db_now(dialect))
        .on_conflict_do_nothing()
    )


@cache
def _read(dialect: str) -> Any:
    return (
        select(_b.c.tokens, _b.c.stamp, _db_now(dialect))
        .where(_b.c.name == bindparam("of_name"))
        .with_for_update()  # PostgreSQL: the row lock orders the processes; SQLite: one writer
    )


_WRITE = (
    update(_b)
    .where(_b.c.name == bindparam("of_name"))
    .values(tokens=bindparam("left"), stamp=bindparam("at"))
)


@dataclass
class Bucket:
    """A locked bucket, refilled to ``now``: ``tokens`` may be spent until ``close``."""

    name: str
    tokens: float
    now: float

    @property
    def whole(self) -> int:
        return int(self.tokens)


async def open_bucket(tx: HotTransaction, dialect: str, name: str, rate: float) -> Bucket:
    """Lock the bucket ``name`` (made full when new) and refill it at ``rate`` a second."""
    await tx.rows(_create(dialect), {"name": name, "tokens": max(1.0, rate)})
    tokens, stamp, now = (await tx.rows(_read(dialect), {"of_name": name}))[0]
    _, refilled = refill_and_take(float(tokens), float(stamp), float(now), rate, 0)
    return Bucket(name, refilled, float(now))


async def close_bucket(tx: HotTransaction, bucket: Bucket, spent: int) -> None:
    await tx.rows(_WRITE, {"of_name": bucket.name, "left": bucket.tokens - spent, "at": bucket.now})


async def take(tx: HotTransaction, dialect: str, name: str, rate: float, wanted: int) -> int:
    """Up to ``wanted`` tokens of the bucket ``name``, in the caller's transaction."""
    bucket = await open_bucket(tx, dialect, name, rate)
    granted = min(wanted, bucket.whole)
    await close_bucket(tx, bucket, granted)
    return granted
