"""Every table, in SQLAlchemy Core. Times are stored in UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
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
    Column("allotments", BigInteger, nullable=False, default=0),  # allocateAgent's check-and-set
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

# -- outbound calls (SPEC 2.2, 2.3) -------------------------------------------
outbound_requests = Table(
    "outbound_requests",
    metadata,
    Column("id", String(36), primary_key=True),  # obdReqID
    Column("client", String(64), nullable=False),
    Column("flow_id", String(64), nullable=False),
    Column("delay_minutes", Integer, nullable=False),
    Column("email", Text, nullable=False, default=""),
    Column("reference_id", Text, nullable=False, default=""),
    Column("answer", JSON, nullable=False),  # the output keys, replayed to retries
    Column("request_id", String(64), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # where its call_status events go instead of the client's endpoints (issue 25)
    Column("webhook_id", String(40), nullable=True),
    Column("webhook_url", String(2048), nullable=True),
    Index("ix_outbound_requests_client", "client", "created_at"),
)

outbound_keys = Table(
    "outbound_keys",  # idempotency: an explicit key, or "auto:<fingerprint>" for dedupe
    metadata,
    Column("client", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

outbound_calls = Table(
    "outbound_calls",
    metadata,
    Column("id", String(36), primary_key=True),  # obdPhononUUID, passed to the dialer
    Column("request_id", String(36), nullable=False),
    Column("client", String(64), nullable=False),
    Column("flow_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("number", String(20), nullable=False),
    Column("zone", String(64), nullable=False),  # the zone its calling calendar is read in
    Column("state", String(24), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),  # attempts that reached the provider
    Column("max_attempts", Integer, nullable=False),
    Column("dial_errors", Integer, nullable=False, default=0),  # since the last accepted dial
    Column("due_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("provider_call_id", String(128), nullable=True),
    Column("end_call_reason", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_outbound_calls_due", "state", "due_at"),
    Index("ix_outbound_calls_request", "request_id", "position"),
    Index("ix_outbound_calls_provider", "provider_call_id"),
    Index("ix_outbound_calls_client_state", "client", "state"),
)

call_attempts = Table(
    "call_attempts",
    metadata,
    Column("call_id", String(36), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("provider_call_id", String(128), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("outcome", String(24), nullable=True),
    Column("end_call_reason", String(64), nullable=True),
    Column("duration", Integer, nullable=True),
    Column("recording_url", Text, nullable=True),
    # a dialer's promised final status (migration 8): {status, source, end_call_reason,
    # duration}, due at promised_at, held by one process until promise_held_until
    Column("promised", JSON, nullable=True),
    Column("promised_at", UTCDateTime, nullable=True),
    Column("promise_held_until", UTCDateTime, nullable=True),
    Index("ix_call_attempts_provider", "provider_call_id"),
)

call_events = Table(
    "call_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("call_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # state | callback | dial_error | cancel
    Column("from_state", String(24), nullable=True),
    Column("to_state", String(24), nullable=True),
    Column("source", String(64), nullable=False),
    Column("detail", Text, nullable=True),
    Column("payload_hash", String(64), nullable=True),  # a repeated callback is stored once
    Column("raw", JSON, nullable=True),  # a provider's payload, as received
    Column("at", UTCDateTime, nullable=False),
    Index("ix_call_events_call", "call_id", "id"),
    Index("ix_call_events_payload", "call_id", "payload_hash"),
)

# -- customer webhooks (SPEC 2.4) ---------------------------------------------------
deliveries = Table(
    "deliveries",  # the outbox: written in the same transaction as the event it carries
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),  # the order events happened
    Column("id", String(36), nullable=False, unique=True),
    Column("event_id", String(40), nullable=False),  # webhook-id, the same on every retry
    Column("client", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("variables", JSON, nullable=False),  # templates are filled when sent, from config
    Column("state", String(12), nullable=False),  # pending | delivered | dead | disabled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("give_up_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # which of the client's endpoints (issue 25): a config hook's event, a webhookId
    # (whk_...) or "url:<hash>" of a createOutbound's one-off webhookUrl (in ``url``)
    Column("endpoint", String(64), nullable=True),
    Column("url", String(2048), nullable=True),
    Column("test", Boolean, nullable=True),  # queued by POST /api/v1/webhooks/{id}/test
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    Index("ix_deliveries_endpoint", "client", "event", "state", "seq"),
    Index("ix_deliveries_target", "client", "endpoint", "state", "seq"),
    Index("ix_deliveries_created", "created_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",  # an endpoint that answered 410, disabled until re-enabled
    metadata,
    Column("client", String(64), primary_key=True),
    Column("event", String(16), primary_key=True),
    Column("fingerprint", String(16), nullable=False),  # of the URL it had when disabled
    Column("disabled_at", UTCDateTime, nullable=False),
    Column("reason", String(200), nullable=False),
)

webhook_health = Table(
    "webhook_health",  # endpoints whose attempts failed: fair shares and back-off (issue 22)
    metadata,
    Column("client", String(64), primary_key=True),
    # which endpoint of the client: a configured hook's event (a stored one's id later)
    Column("endpoint", String(64), primary_key=True),
    Column("fingerprint", String(16), nullable=False),  # of its URL: a changed URL starts over
    Column("failures", Integer, nullable=False),  # failed attempts in a row; 0 after a success
    Column("backoffs", Integer, nullable=False),  # times backed off in a row (the exponent)
    Column("backed_off_until", UTCDateTime, nullable=True),  # no attempt before this
    Column("last_error", String(200), nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# -- call reports (SPEC 2.5) ----------------------------------------------------------
reports = Table(
    "reports",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),  # the keyset of paging
    Column("id", String(36), nullable=False, unique=True),  # reportId
    Column("client", String(64), nullable=False),
    Column("cli", String(20), nullable=False, default=""),  # E.164 of the cli key, for ?cli=
    Column("keys", JSON, nullable=False),
    Column("request_id", String(64), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_reports_client", "client", "seq"),
    Index("ix_reports_created", "client", "created_at"),
    Index("ix_reports_cli", "client", "cli", "seq"),
)

# -- short links (SPEC 2.8) -----------------------------------------------------------
links = Table(
    "links",
    metadata,
    Column("code", String(16), primary_key=True),  # unique: a collision draws again
    Column("client", String(64), nullable=False),
    Column("long_url", String(2048), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # None: never
    Column("clicks", BigInteger, nullable=False, default=0),
    Column("bot_clicks", BigInteger, nullable=False, default=0),
    Column("last_click_at", UTCDateTime, nullable=True),
    Index("ix_links_client", "client", "created_at"),
)

# -- rates shared by every process (issue: limits across processes) -----------------
rate_buckets = Table(
    "rate_buckets",  # one token bucket a (kind, client): "calls:acme", "requests:acme"
    metadata,
    Column("name", String(80), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("stamp", Float, nullable=False),  # the database's clock, seconds since the epoch
)

# indexes added later (migration 3), for the retention job's purges
ix_call_events_at = Index("ix_call_events_at", call_events.c.at)
ix_outbound_keys_expires = Index("ix_outbound_keys_expires", outbound_keys.c.expires_at)

# -- the console (issue 27) -------------------------------------------------------------
request_counts = Table(
    "request_counts",  # envelope answers an hour, added to by every serve process
    metadata,
    Column("hour", UTCDateTime, primary_key=True),
    Column("method", String(64), primary_key=True),
    Column("http_status", Integer, primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

request_latency = Table(
    "request_latency",  # the latency histogram an hour: answers in each metrics bucket
    metadata,
    Column("hour", UTCDateTime, primary_key=True),
    Column("method", String(64), primary_key=True),
    Column("bucket", Integer, primary_key=True),  # index into metrics.BUCKETS (+Inf last)
    Column("count", BigInteger, nullable=False),
)

outbox_samples = Table(
    "outbox_samples",  # each client's outbox a minute (the first process to sample it)
    metadata,
    Column("at", UTCDateTime, primary_key=True),
    Column("client", String(64), primary_key=True),
    Column("pending", Integer, nullable=False),
    Column("dead", Integer, nullable=False),
)

delivery_attempts = Table(
    "delivery_attempts",  # every attempt of a webhook delivery, for the console
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_seq", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(12), nullable=False),  # the delivery's state after it
    Column("status", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("elapsed_ms", Float, nullable=True),
    Index("ix_delivery_attempts_delivery", "delivery_seq", "attempt"),
    Index("ix_delivery_attempts_at", "at"),
)

link_days = Table(
    "link_days",  # a link's clicks by UTC day, for its chart
    metadata,
    Column("code", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("clicks", BigInteger, nullable=False),
    Column("bot_clicks", BigInteger, nullable=False),
)

signin_failures = Table(
    "signin_failures",  # failed console sign-ins, counted across processes
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_signin_failures_address", "address", "at"),
)

# -- endpoints customers manage through /api/v1/webhooks (issue 25) -------------------
customer_webhooks = Table(
    "customer_webhooks",
    metadata,
    Column("id", String(40), primary_key=True),  # whk_...
    Column("client", String(64), nullable=False),
    Column("url", String(2048), nullable=False),  # a template (SPEC 2.4)
    Column("events", JSON, nullable=False),  # ["call_status", "report"]
    Column("description", String(500), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(200), nullable=True),  # a 410's, until re-enabled
    Column("headers", JSON, nullable=False),  # name -> template
    Column("body", Text, nullable=True),  # None: the event as JSON
    Column("username", String(200), nullable=True),  # basic auth
    Column("password_sealed", Text, nullable=True),  # flowhooks.vault, never in clear
    Column("secret_sealed", Text, nullable=False),
    Column("old_secret_sealed", Text, nullable=True),  # still signs until old_secret_until
    Column("old_secret_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_customer_webhooks_client", "client", "created_at"),
)

# migration 8: the promises still to keep (an ended attempt leaves the index)
ix_call_attempts_promised = Index(
    "ix_call_attempts_promised",
    call_attempts.c.promised_at,
    sqlite_where=call_attempts.c.ended_at.is_(None),
    postgresql_where=call_attempts.c.ended_at.is_(None),
)

# -- flow traces (issue 26) ------------------------------------------------------------
traces = Table(
    "traces",  # one row per envelope answered; secrets already "***" (traces.record)
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),  # the keyset's tie-breaker
    Column("request_id", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),  # "now" as the handler saw it
    Column("method", String(64), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # SUCCESS | FAILED
    Column("error_code", String(64), nullable=False, default=""),
    Column("latency_ms", Float, nullable=False),
    Column("cli", String(20), nullable=False, default=""),  # E.164 of cli/contactNumber
    Column("call_key", String(128), nullable=False, default=""),  # [traces] call_keys
    Column("request", Text, nullable=True),  # JSON {"method", "keys"}; null: not an envelope
    Column("answer", Text, nullable=False),  # JSON [{"name", "value"}]: the answer's keys
    Column("cut", Boolean, nullable=False, default=False),  # a value was cut (max_value_chars)
    Index("ix_traces_client_at", "client", "at", "seq"),  # newest first, from/to
    Index("ix_traces_method", "client", "method", "status", "at", "seq"),
    Index("ix_traces_request_id", "request_id"),
)


def _traces_having(column: str) -> Index:
    """The traces that have a ``column`` (migration 13: only those; a flow that sends
    no caller number or call key adds nothing to its index, ~1 µs of PostgreSQL a trace
    each; the search says ``column != ''`` so that SQLite uses them too)."""
    having = traces.c[column] != ""
    return Index(
        f"ix_traces_{column}",
        traces.c.client,
        traces.c[column],
        traces.c.at,
        traces.c.seq,
        sqlite_where=having,
        postgresql_where=having,
    )


ix_traces_cli = _traces_having("cli")
ix_traces_call_key = _traces_having("call_key")
