"""/console/webhooks: the client's webhook endpoints, what became of their deliveries in
the last 24 hours, and Enable for an endpoint a 410 disabled.

Today an endpoint is a ``[clients.NAME.webhooks.EVENT]`` table of the config (one URL
an event, SPEC 2.4); the webhooks API of issue 25 (create, edit, disable, rotate the
secret, send a test event) adds its endpoints to this page and its forms here.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from flowhooks.console.pages import client_of, page, render, see_other
from flowhooks.storage import outbox
from flowhooks.web import keys as appkeys
from flowhooks.webhooks import templates
from flowhooks.webhooks.events import EVENTS

NAV = ("/console/webhooks", "Webhooks")


@page
async def list_endpoints(request: web.Request) -> web.StreamResponse:
    app, client = request.app, client_of(request)
    db, now = app[appkeys.DB], app[appkeys.CLOCK].now()
    hooks = app[appkeys.SETTINGS].clients[client].webhooks
    disabled = await outbox.disabled_endpoints(db, client)
    counts = await outbox.counts_since(db, client, now - timedelta(hours=24))
    endpoints = [
        {
            "event": event,
            "url": templates.masked(hook.url),
            "headers": sorted(hook.headers),
            "body": hook.body,
            "signed": hook.secret is not None,
            "disabled": disabled.get(event),
            "counts": {s: counts.get((event, s), 0) for s in outbox.STATES},
        }
        for event, hook in sorted(hooks.items())
    ]
    context = {
        "title": "Webhooks",
        "endpoints": endpoints,
        "missing": [e for e in EVENTS if e not in hooks],
        "states": outbox.STATES,
        "enabled": request.query.get("enabled"),
    }
    return render(request, "webhooks.html", context)


@page
async def enable(request: web.Request) -> web.StreamResponse:
    """Enable an endpoint a 410 disabled: its disabled deliveries are due again."""
    app, client, event = request.app, client_of(request), request.match_info["event"]
    if event not in app[appkeys.SETTINGS].clients[client].webhooks:
        raise web.HTTPNotFound()
    give_up = timedelta(hours=app[appkeys.SETTINGS].delivery.give_up_hours)
    requeued = await outbox.enable(
        app[appkeys.DB], client, event, app[appkeys.CLOCK].now(), give_up
    )
    app[appkeys.OUTBOUND].wake_deliveries()
    return see_other(f"/console/webhooks?enabled={requeued}")


ROUTES = [
    ("GET", "/console/webhooks", list_endpoints),
    ("POST", "/console/webhooks/{event}/enable", enable),
]
