"""/console/deliveries: the client's webhook deliveries, newest first, by state, event,
endpoint (a config hook's event, a webhook the client made, a one-off URL) and time;
each with its endpoint, whether it is a test, its payload and every attempt (status,
error, how long it took); Retry for a dead or disabled one, and "Retry all dead" for
the filter.

Reads ``storage.outbox.listing`` (keyset on ``seq``, as ``GET /api/v1/deliveries``);
Retry is the same ``outbox.retry`` as ``POST /api/v1/deliveries/{id}/retry``; both end
the back-off of the endpoints they send to again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from multidict import MultiMapping

from flowhooks.console.pages import client_of, form_of, moment, page, render, see_other
from flowhooks.storage import outbox
from flowhooks.web import keys as appkeys
from flowhooks.web.params import BadParameter, cursor_of, id_of
from flowhooks.webhooks import templates
from flowhooks.webhooks.endpoints import valid_id
from flowhooks.webhooks.events import EVENTS

NAV = ("/console/deliveries", "Deliveries")
FILTERS = ("state", "event", "endpoint", "from", "to")
ONE_OFF = re.compile(r"^url:[0-9a-f]{16}$")  # webhooks.endpoints.one_off_endpoint


class Selection:
    """The filters of the page (and of "Retry all dead"), checked."""

    def __init__(self, request: web.Request, values: MultiMapping[Any]) -> None:
        client = client_of(request)
        conf = request.app[appkeys.SETTINGS].clients[client]
        zone = ZoneInfo(conf.timezone)
        self.state = str(values.get("state") or "") or None
        if self.state is not None and self.state not in outbox.STATES:
            raise BadParameter("state", f"must be one of {', '.join(outbox.STATES)}")
        self.event = str(values.get("event") or "") or None
        if self.event is not None and self.event not in EVENTS:
            raise BadParameter("event", f"must be one of {', '.join(EVENTS)}")
        self.endpoint = str(values.get("endpoint") or "") or None
        if self.endpoint is not None and not _endpoint_name(self.endpoint, conf.webhooks):
            raise BadParameter(
                "endpoint", "must be a config hook's event, a webhookId or a one-off url:<hash>"
            )
        self.since = moment(values, "from", zone)
        self.until = moment(values, "to", zone)
        self.kept = {k: str(values.get(k)) for k in FILTERS if values.get(k)}


def _endpoint_name(name: str, hooks: Mapping[Any, Any]) -> bool:
    """A name deliveries carry as their endpoint: a config hook's event, a webhookId (a
    deleted one's deliveries stay), or a one-off URL's ``url:<hash>``."""
    return name in hooks or valid_id(name) or bool(ONE_OFF.match(name))


@dataclass(frozen=True)
class Shown:
    """An endpoint as the deliveries to it show it."""

    label: str
    url: str | None  # its URL template
    body: str | None  # its body template


async def _endpoints(request: web.Request, client: str) -> dict[str, Shown]:
    """The client's endpoints by the name its deliveries carry: config hooks (their
    event), then the webhooks it made (by description, or id)."""
    hooks = request.app[appkeys.SETTINGS].clients[client].webhooks
    found: dict[str, Shown] = {
        e: Shown(f"{e} (config)", h.url, h.body) for e, h in sorted(hooks.items())
    }
    for row in await request.app[appkeys.ENDPOINTS].listing(client):
        label = f"{row['description']} ({row['id']})" if row["description"] else row["id"]
        found[row["id"]] = Shown(label, row["url"], row["body"])
    return found


def _payload(hook_body: str | None, variables: dict[str, Any]) -> str:
    body = templates.fill_body(hook_body, variables)
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return body.decode(errors="replace")


@page
async def list_deliveries(request: web.Request) -> web.StreamResponse:
    app, client = request.app, client_of(request)
    sel = Selection(request, request.query)
    before = cursor_of(request.query, "before", "this page")
    limit = app[appkeys.SETTINGS].console.page_size
    db = app[appkeys.DB]
    rows = await outbox.listing(
        db,
        client,
        state=sel.state,
        event=sel.event,
        limit=limit,
        before=before,
        since=sel.since,
        until=sel.until,
        endpoint=sel.endpoint,
    )
    attempts = await outbox.attempts_of(db, [r["seq"] for r in rows])
    endpoints = await _endpoints(request, client)
    deliveries = []
    for r in rows:
        name = r["endpoint"] or r["event"]
        shown = endpoints.get(name) or Shown(_gone(name), None, None)
        url = r["url"] or shown.url  # a one-off URL is kept with its delivery
        deliveries.append(
            {
                **r,
                "endpoint": name,
                "endpoint_label": shown.label,
                "url": templates.masked(templates.fill_url(url, r["variables"])) if url else "",
                "payload": _payload(shown.body, r["variables"]),
                "tries": attempts.get(r["seq"], []),
                "retryable": r["state"] in ("dead", "disabled"),
            }
        )
    older = None
    if len(rows) == limit:
        older = "/console/deliveries?" + urlencode({**sel.kept, "before": rows[-1]["seq"]})
    context = {
        "title": "Deliveries",
        "deliveries": deliveries,
        "sel": sel,
        "states": outbox.STATES,
        "events": EVENTS,
        "endpoints": {name: shown.label for name, shown in endpoints.items()},
        "older": older,
        "newest": "/console/deliveries?" + urlencode(sel.kept) if before is not None else None,
        "retried": request.query.get("retried"),
    }
    return render(request, "deliveries.html", context)


def _gone(name: str) -> str:
    if name.startswith("url:"):
        return "a one-off URL (webhookUrl)"
    return f"{name} (deleted)" if valid_id(name) else name


def _back(form: MultiMapping[Any], **extra: Any) -> str:
    kept = {k: str(form.get(k)) for k in FILTERS if form.get(k)}
    return "/console/deliveries?" + urlencode({**kept, **extra})


@page
async def retry_one(request: web.Request) -> web.StreamResponse:
    app, delivery_id = request.app, id_of(request, "delivery_id")
    was = delivery_id and await outbox.retry(
        app[appkeys.DB],
        client_of(request),
        delivery_id,
        app[appkeys.CLOCK].now(),
        request.app[appkeys.ENDPOINTS].give_up,
    )
    if not was:
        raise web.HTTPNotFound()
    app[appkeys.OUTBOUND].wake_deliveries()
    retried = 1 if was in ("dead", "disabled") else 0
    return see_other(_back(form_of(request), retried=retried))


@page
async def retry_dead(request: web.Request) -> web.StreamResponse:
    app, form = request.app, form_of(request)
    sel = Selection(request, form)
    if sel.state not in (None, "dead"):
        raise BadParameter("state", "only dead deliveries are retried all at once")
    n = await outbox.retry_dead(
        app[appkeys.DB],
        client_of(request),
        app[appkeys.CLOCK].now(),
        request.app[appkeys.ENDPOINTS].give_up,
        event=sel.event,
        since=sel.since,
        until=sel.until,
        endpoint=sel.endpoint,
    )
    app[appkeys.OUTBOUND].wake_deliveries()
    return see_other(_back(form, retried=n))


ROUTES = [
    ("GET", "/console/deliveries", list_deliveries),
    ("POST", "/console/deliveries/retry-dead", retry_dead),
    ("POST", "/console/deliveries/{delivery_id}/retry", retry_one),
]
