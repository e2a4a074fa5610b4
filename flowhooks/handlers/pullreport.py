"""Stores a call report and queues the client's report webhook, in one transaction (SPEC 2.5)."""

from __future__ import annotations

import uuid

from pydantic import Field

from flowhooks.handlers import caller
from flowhooks.method import Context, Keys
from flowhooks.phones import NumberRefused
from flowhooks.redact import is_secret
from flowhooks.storage import reports
from flowhooks.webhooks.events import REPORT, report_variables

METHOD = "pullreport"


class Input(Keys):
    clientID: str | None = Field(None, description="the client (default: default)")
    cli: str | None = Field(
        None,
        description="the caller's number; any other key is stored too",
        examples=["9979746666"],
    )


class Output(Keys):
    reportId: str = Field(description="the stored report's id")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = caller.client_name(ctx, keys.clientID)
    stored = {
        name: value
        for name, value in {**ctx.envelope.keys, **ctx.envelope.user_keys}.items()
        if name != "clientid" and not is_secret(name)
    }
    cli = ""
    if keys.cli:
        try:
            cli = ctx.clients.number(client, keys.cli)
        except NumberRefused:
            cli = ""  # kept as sent in the keys; not matched by ?cli=
    report_id = str(uuid.uuid4())
    variables = report_variables(report_id, client, ctx.now, stored)
    deliveries = ctx.outbound.planner.plan(client, REPORT, variables, ctx.now)
    written = await reports.store(
        ctx.db, report_id, client, cli, stored, ctx.request_id, ctx.now, deliveries
    )
    if written:  # the plan names a report event always; only an endpoint makes a delivery
        ctx.outbound.wake_deliveries()
    return {"reportId": report_id}
