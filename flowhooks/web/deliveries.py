"""/api/v1/deliveries and /api/v1/webhooks/{event}/enable: a client's webhook outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from flowhooks.storage import outbox
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, problem
from flowhooks.web.params import choice_of, cursor_of, id_of, limit_of, text_of
from flowhooks.webhooks import templates
from flowhooks.webhooks.endpoints import ID_PREFIX
from flowhooks.webhooks.events import EVENTS


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _view(row: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    """A delivery; ``urls``: the URL template of each of the client's endpoints."""
    endpoint = row["endpoint"] or row["event"]
    template = row["url"] or urls.get(endpoint)
    url = templates.fill_url(template, row["variables"]) if template else ""
    return {
        "id": row["id"],
        "event": row["event"],
        "eventId": row["event_id"],
        "webhookId": endpoint if endpoint.startswith(ID_PREFIX) else None,
        "test": bool(row["test"]),
        "url": templates.masked(url),
        "state": row["state"],
        "attempts": row["attempts"],
        "lastStatus": row["last_status"],
        "lastError": row["last_error"],
        "nextAttemptAt": _iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
        "createdAt": _iso(row["created_at"]),
        "deliveredAt": _iso(row["delivered_at"]),
    }


@client_api
async def list_deliveries(request: web.Request) -> web.Response:
    q = request.query
    state, event = choice_of(q, "status", outbox.STATES), choice_of(q, "event", EVENTS)
    webhook_id = text_of(q, "webhookId", 64)
    limit, before = limit_of(q), cursor_of(q)
    client = request[CLIENT]
    rows = await outbox.listing(
        request.app[appkeys.DB],
        client,
        state=state,
        event=event,
        limit=limit,
        before=before,
        endpoint=webhook_id,
    )
    hooks = request.app[appkeys.SETTINGS].clients[client].webhooks
    urls: dict[str, str] = {name: hook.url for name, hook in hooks.items()}
    if any(r["endpoint"] and r["endpoint"].startswith(ID_PREFIX) for r in rows):
        stored = await request.app[appkeys.ENDPOINTS].listing(client)
        urls.update({w["id"]: w["url"] for w in stored})
    return web.json_response(
        {
            "deliveries": [_view(r, urls) for r in rows],
            "nextCursor": str(rows[-1]["seq"]) if len(rows) == limit else None,
        }
    )


@client_api
async def retry_delivery(request: web.Request) -> web.Response:
    app, delivery_id = request.app, id_of(request, "delivery_id")
    was = None
    if delivery_id is not None:
        now = app[appkeys.CLOCK].now()
        was = await outbox.retry(
            app[appkeys.DB],
            request[CLIENT],
            delivery_id,
            now,
            app[appkeys.ENDPOINTS].give_up,
        )
    if was is None:
        return problem(404, "NOT_FOUND", "no such delivery for this client")
    if was not in ("dead", "disabled"):
        return problem(409, "NOT_RETRYABLE", f"the delivery is {was}; only dead or disabled ones")
    app[appkeys.OUTBOUND].wake_deliveries()
    return web.json_response({"id": delivery_id, "state": "pending", "was": was})


@client_api
async def enable_endpoint(request: web.Request) -> web.Response:
    app, client, event = request.app, request[CLIENT], request.match_info["event"]
    if event not in app[appkeys.SETTINGS].clients[client].webhooks:
        return problem(404, "NOT_FOUND", f"this client has no {event!r} webhook")
    requeued = await outbox.enable(
        app[appkeys.DB],
        client,
        event,
        app[appkeys.CLOCK].now(),
        app[appkeys.ENDPOINTS].give_up,
    )
    app[appkeys.OUTBOUND].wake_deliveries()
    return web.json_response({"event": event, "enabled": True, "requeued": requeued})


ROUTES = [
    ("GET", "/api/v1/deliveries", list_deliveries),
    ("POST", "/api/v1/deliveries/{delivery_id}/retry", retry_delivery),
    ("POST", "/api/v1/webhooks/{event}/enable", enable_endpoint),
]
