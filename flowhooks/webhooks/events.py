"""Events and their variables (SPEC 2.4), and the planner that turns an event into the
deliveries to write beside it. Pure: the caller writes them in its own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowhooks.outbound.model import OutboundCall

CALL_STATUS = "call_status"
REPORT = "report"
EVENTS = (CALL_STATUS, REPORT)
SEEDS_TIME = "%Y-%m-%d %H:%M:%S"  # how seeds/001 writes start_at and end_at


@dataclass(frozen=True)
class NewDelivery:
    """One event for one endpoint: a row of the outbox."""

    id: str  # the delivery's id (the retry API names it)
    event_id: str  # webhook-id: the same on every retry
    client: str
    event: str
    variables: dict[str, str]
    created_at: datetime
    give_up_at: datetime
    configured: bool = True  # the client's config has a hook for this event
    # one endpoint only (a test event, a request's choice): a webhookId or "url:<hash>"
    endpoint: str | None = None
    url: str | None = None  # a one-off URL's (createOutbound's webhookUrl)
    test: bool = False


def _local(value: Any, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime(SEEDS_TIME) if isinstance(value, datetime) else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def call_status_variables(
    call: OutboundCall, outcome: str, attempt: Mapping[str, Any], zone: ZoneInfo
) -> dict[str, str]:
    """The variables of a call_status event: one attempt's outcome of ``call`` (as changed)."""
    return {
        "id": call.id,
        "request_id": call.request_id,
        "to": call.number,
        "from": "",  # no dialer reports a caller id yet
        "status": outcome,
        "attempt": _text(attempt.get("attempt") or max(call.attempts, 1)),
        "final": "false" if call.state == "queued" else "true",
        "duration": _text(attempt.get("duration")),
        "start_at": _local(attempt.get("started_at"), zone),
        "end_at": _local(attempt.get("ended_at"), zone),
        "recording_url": _text(attempt.get("recording_url")),
        "end_call_reason": _text(attempt.get("end_call_reason") or call.end_call_reason),
        "reference_id": call.reference_id,
        "email": call.email,
    }


def report_variables(
    report_id: str, client: str, created_at: datetime, keys: Mapping[str, str]
) -> dict[str, str]:
    """The variables of a report event: its id, client, time and every key by bare name."""
    return {**keys, "id": report_id, "client": client, "created_at": created_at.isoformat()}


@dataclass(frozen=True)
class Planner:
    """Which (client, event) pairs have a config hook, and each client's zone."""

    endpoints: frozenset[tuple[str, str]]
    zones: Mapping[str, ZoneInfo]
    give_up: timedelta

    def plan(
        self, client: str, event: str, variables: dict[str, str], now: datetime
    ) -> list[NewDelivery]:
        """One event for the client's endpoints: its config hook (when it has one) and
        the endpoints it made through the API (the outbox finds those as it writes)."""
        return [
            NewDelivery(
                id=str(uuid.uuid4()),
                event_id=f"msg_{uuid.uuid4().hex}",
                client=client,
                event=event,
                variables=variables,
                created_at=now,
                give_up_at=now + self.give_up,
                configured=(client, event) in self.endpoints,
            )
        ]

    def call_status(
        self, call: OutboundCall, outcome: str, attempt: Mapping[str, Any], now: datetime
    ) -> list[NewDelivery]:
        zone = self.zones.get(call.client, ZoneInfo("UTC"))
        variables = call_status_variables(call, outcome, attempt, zone)
        return self.plan(call.client, CALL_STATUS, variables, now)


NO_WEBHOOKS = Planner(frozenset(), {}, timedelta(hours=24))
