"""Every table, in SQLAlchemy Core. Times are stored in UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()
BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

# -- caller preferences (SPEC 2.6) -------------------------------------------
pref_owners = Table(
    "pref_owners",  # one row per (client, number): updates of a number lock it
    metadata,
    Column("client", String(64), primary_key=True),
    Column("number", String(20), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

user_prefs = Table(
    "user_prefs",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("number", String(20), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# -- direct-dial agents (SPEC 2.7) --------------------------------------------
agents = Table(
    "agents",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("cli", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("did", String(20), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("last_allotted_at", UTCDateTime, nullable=True),
    Column("source", String(16), nullable=False),  # "config" or "api"
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_agents_did", "client", "did", "paused", "last_allotted_at"),
)

agent_events = Table(
    "agent_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client", String(64), nullable=False),
    Column("cli", String(20), nullable=False),
    Column("action", String(16), nullable=False),  # pause | unpause | toggle | register
    Column("paused", Boolean, nullable=False),  # the state after the change
    Column("at", UTCDateTime, nullable=False),
    Column("request_id", String(64), nullable=False, default=""),
    Column("detail", JSON, nullable=True),
    Index("ix_agent_events_cli", "client", "cli", "id"),
)
