"""Versioned schema migrations, applied in order, each in its own transaction.

The schema is versioned from day one: ``schema_version`` holds one row per applied
migration. A migration names the tables it creates (never "all of metadata"), so
adding a table later is a new migration, never a silent change to an old one.
Applied at start and by ``flowhooks db upgrade``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateColumn

from flowhooks.clock import SystemClock
from flowhooks.storage import tables as t
from flowhooks.storage.database import Storage


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[AsyncConnection], Awaitable[None]]


def creates(*tables: Table) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def apply(conn: AsyncConnection) -> None:
        await conn.run_sync(lambda sync: t.metadata.create_all(sync, tables=list(tables)))

    return apply


def indexes(*found: Index) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def apply(conn: AsyncConnection) -> None:
        def create(sync: Any) -> None:
            for index in found:
                index.create(sync, checkfirst=True)  # a fresh database made them with its table

        await conn.run_sync(create)

    return apply


def replaces_indexes(*found: Index) -> Callable[[AsyncConnection], Awaitable[None]]:
    """Drop each index by its name and create it again as it is declared now."""

    async def apply(conn: AsyncConnection) -> None:
        for index in found:
            await conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
        await indexes(*found)(conn)

    return apply


def drops_columns(table: str, *columns: str) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def apply(conn: AsyncConnection) -> None:
        def present(sync: Any) -> set[str]:
            return {c["name"] for c in inspect(sync).get_columns(table)}

        have = await conn.run_sync(present)
        for column in columns:
            if column in have:  # a fresh database never had it
                await conn.execute(text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))

    return apply


def adds_columns(table: Table, *columns: str) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def apply(conn: AsyncConnection) -> None:
        def present(sync: Any) -> set[str]:
            return {c["name"] for c in inspect(sync).get_columns(table.name)}

        have = await conn.run_sync(present)
        for name in columns:
            if name not in have:  # a fresh database made it with its table
                spec = CreateColumn(table.c[name]).compile(dialect=conn.dialect)
                await conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {spec}"))

    return apply


def all_of(
    *steps: Callable[[AsyncConnection], Awaitable[None]],
) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def apply(conn: AsyncConnection) -> None:
        for step in steps:
            await step(conn)

    return apply


async def fills_endpoint(conn: AsyncConnection) -> None:
    """Deliveries written before issue 25 went to their client's config hook: its event."""
    await conn.execute(text("UPDATE deliveries SET endpoint = event WHERE endpoint IS NULL"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "caller preferences and agents",
        creates(t.pref_owners, t.user_prefs, t.agents, t.agent_events),
    ),
    Migration(
        2,
        "outbound requests, calls, attempts and events",
        creates(
            t.outbound_requests, t.outbound_keys, t.outbound_calls, t.call_attempts, t.call_events
        ),
    ),
    Migration(
        3,
        "customer webhooks outbox and call reports",
        creates(t.deliveries, t.webhook_endpoints, t.reports),
    ),
    Migration(
        4,
        "indexes for the retention job",
        indexes(t.ix_call_events_at, t.ix_outbound_keys_expires),
    ),
    Migration(5, "short links", creates(t.links)),
    Migration(
        6,
        "email and referenceId once per request, not per call",
        drops_columns("outbound_calls", "email", "reference_id"),
    ),
    Migration(7, "rate buckets shared by every process", creates(t.rate_buckets)),
    Migration(
        8,
        "a dialer's promised final status, kept with its attempt",
        all_of(
            adds_columns(t.call_attempts, "promised", "promised_at", "promise_held_until"),
            indexes(t.ix_call_attempts_promised),
        ),
    ),
    Migration(9, "webhook endpoint health: fair shares and back-off", creates(t.webhook_health)),
    Migration(10, "flow traces", creates(t.traces)),
    Migration(
        11,
        "the console: request counts, outbox samples, delivery attempts, link days, sign-ins",
        creates(
            t.request_counts,
            t.request_latency,
            t.outbox_samples,
            t.delivery_attempts,
            t.link_days,
            t.signin_failures,
        ),
    ),
    Migration(
        12,
        "webhook endpoints customers manage, chosen per outbound request",
        all_of(
            creates(t.customer_webhooks),
            adds_columns(t.outbound_requests, "webhook_id", "webhook_url"),
            adds_columns(t.deliveries, "endpoint", "url", "test"),
            fills_endpoint,
            indexes(*(i for i in t.deliveries.indexes if i.name == "ix_deliveries_target")),
        ),
    ),
    Migration(
        13,
        "traces: the caller and call-key indexes hold only traces that have one",
        replaces_indexes(t.ix_traces_cli, t.ix_traces_call_key),
    ),
)
LATEST = MIGRATIONS[-1].version


async def current_version(storage: Storage) -> int:
    async with storage.write(bounded=False) as conn:
        has_table = await conn.run_sync(lambda sync: inspect(sync).has_table("schema_version"))
        if not has_table:
            return 0
        versions = (await conn.execute(select(t.schema_version.c.version))).scalars().all()
        return max(versions, default=0)


async def _serialise(storage: Storage, conn: AsyncConnection) -> None:
    if storage.is_postgres:
        await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7412001)")


async def upgrade(
    storage: Storage,
    progress: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Apply every migration newer than the database; returns the versions applied.

    ``now`` stamps ``applied_at`` (the app's clock; the system clock when not given).

    On SQLite the writer's IMMEDIATE transaction, on PostgreSQL an advisory lock,
    keep two processes starting together from applying the same migration twice.
    No statement deadline: a migration may rewrite a big table, or wait for another's.
    """
    applied: list[int] = []
    async with storage.write(bounded=False) as conn:
        await _serialise(storage, conn)
        await conn.run_sync(lambda sync: t.schema_version.create(sync, checkfirst=True))
    for migration in MIGRATIONS:
        async with storage.write(bounded=False) as conn:
            await _serialise(storage, conn)
            done = await conn.scalar(
                select(t.schema_version.c.version).where(
                    t.schema_version.c.version == migration.version
                )
            )
            if done is not None:
                continue
            if progress:
                progress(f"applying migration {migration.version}: {migration.description}")
            await migration.apply(conn)
            await conn.execute(
                t.schema_version.insert().values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=SystemClock().now() if now is None else now,
                )
            )
            applied.append(migration.version)
    return applied
