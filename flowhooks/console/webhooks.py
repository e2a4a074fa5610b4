"""/console/webhooks: the client's webhook endpoints — its config's hooks (one an event,
SPEC 2.4) and those it made here or through ``/api/v1/webhooks`` (issue 25) — with what
became of their deliveries in the last 24 hours; create, edit, disable and enable,
rotate the secret, send a test event, delete (after a confirmation page).

Everything goes through the service the API uses (``webhooks.service.Endpoints``), so
its rules and messages are the API's; an endpoint is shown as the API shows it
(``web.webhooks.view``: never a secret, masked values masked). A new secret (create,
rotate) goes to the endpoint's page once, sealed in a cookie of that page that the page
deletes as it shows it: a reload shows it no more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web
from multidict import MultiMapping

from flowhooks.console import webhook_forms as forms
from flowhooks.console.pages import CONSOLE, client_of, form_of, page, render, see_other
from flowhooks.storage import outbox
from flowhooks.storage.endpoints import TooMany
from flowhooks.vault import SealBroken, VaultUnavailable
from flowhooks.web import keys as appkeys
from flowhooks.web.webhooks import view
from flowhooks.webhooks import templates
from flowhooks.webhooks.endpoints import FieldProblem, valid_id
from flowhooks.webhooks.events import EVENTS
from flowhooks.webhooks.service import Endpoints

NAV = ("/console/webhooks", "Webhooks")
ONCE = "flowhooks_new_secret"  # the cookie carrying a new secret to its endpoint's page
ONCE_SECONDS = 300
NO_STATS = {
    "counts": dict.fromkeys(outbox.OUTCOMES, 0),
    "last_success_at": None,
    "last_failure_at": None,
}
DONE = {  # ?done= on an endpoint's page after a change
    "saved": "Saved.",
    "unchanged": "Nothing changed.",
    "enabled": "Enabled: its waiting deliveries are sent again.",
    "disabled": "Disabled: its deliveries wait until it is enabled.",
    "tested": "A test event is queued.",
}


def _endpoints(request: web.Request) -> Endpoints:
    return request.app[appkeys.ENDPOINTS]


def _failed(form: str, exc: Exception) -> dict[str, str]:
    """What the page shows next to the form that failed, and the input it names."""
    field = exc.field if isinstance(exc, FieldProblem) else ""
    return {"form": form, "message": str(exc), "input": forms.input_of(field)}


def _base(request: web.Request) -> dict[str, Any]:
    endpoints = _endpoints(request)
    return {"states": outbox.OUTCOMES, "events": EVENTS, "vault": endpoints.vault.available}


async def _config_hooks(
    request: web.Request, client: str, stats: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    hooks = request.app[appkeys.SETTINGS].clients[client].webhooks
    disabled = await outbox.disabled_endpoints(request.app[appkeys.DB], client)
    return [
        {
            "event": event,
            "url": templates.masked(hook.url),
            "headers": sorted(hook.headers),
            "body": hook.body,
            "signed": hook.secret is not None,
            "disabled": disabled.get(event),
            "stats": stats.get(event) or NO_STATS,
        }
        for event, hook in sorted(hooks.items())
    ]


async def _list_page(
    request: web.Request,
    status: int = 200,
    failed: dict[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> web.Response:
    endpoints, client = _endpoints(request), client_of(request)
    since = request.app[appkeys.CLOCK].now() - timedelta(hours=24)
    stats = await outbox.endpoints_stats(request.app[appkeys.DB], client, since)
    stored = [
        {**view(row), "stats": stats.get(row["id"]) or NO_STATS}
        for row in await endpoints.listing(client)
    ]
    deleted = request.query.get("deleted", "")
    context = {
        **_base(request),
        "title": "Webhooks",
        "config": await _config_hooks(request, client, stats),
        "stored": stored,
        "limit": endpoints.limit,
        "failed": failed,
        "values": values or {"events": list(EVENTS)},
        "enabled": request.query.get("enabled"),
        "deleted": deleted if valid_id(deleted) else None,
    }
    return render(request, "webhooks.html", context, status=status)


@page
async def list_endpoints(request: web.Request) -> web.StreamResponse:
    return await _list_page(request)


def _refill(form: MultiMapping[Any]) -> dict[str, Any]:
    """A failed form's values, to show again (never the password or the secret)."""
    values = {k: str(form.get(k) or "") for k in ("url", "description", "headers", "body")}
    events = [str(e) for e in form.getall("events", [])]
    return {**values, "username": str(form.get("username") or ""), "events": events}


@page
async def create(request: web.Request) -> web.StreamResponse:
    """Make an endpoint; its page then shows the secret once."""
    client, form = client_of(request), form_of(request)
    try:
        row, secret = await _endpoints(request).create(client, forms.creation(form))
    except FieldProblem as exc:
        return await _list_page(request, 422, _failed("create", exc), _refill(form))
    except TooMany as exc:
        return await _list_page(request, 409, _failed("create", exc), _refill(form))
    except VaultUnavailable as exc:
        return await _list_page(request, 503, _failed("create", exc), _refill(form))
    response = see_other(_path(row["id"]))
    _hand_over(request, response, row["id"], secret, "created")
    return response


def _path(webhook_id: str, tail: str = "") -> str:
    return f"/console/webhooks/{webhook_id}{tail}"


def _hand_over(
    request: web.Request, response: web.StreamResponse, webhook_id: str, secret: str, kind: str
) -> None:
    """The new secret, sealed, in a cookie only that endpoint's page receives."""
    note = {"c": client_of(request), "w": webhook_id, "s": secret, "k": kind}
    sealed = _endpoints(request).vault.seal(orjson.dumps(note).decode())
    response.set_cookie(
        ONCE,
        sealed,
        max_age=ONCE_SECONDS,
        path=_path(webhook_id),
        httponly=True,
        samesite="Strict",
        secure=request.app[CONSOLE].sessions.https or request.secure,
    )


def _taken(request: web.Request, webhook_id: str) -> dict[str, str] | None:
    """The new secret a create or rotation handed to this page, if it is this one's."""
    sealed = request.cookies.get(ONCE)
    if not sealed:
        return None
    try:
        note = orjson.loads(_endpoints(request).vault.open(sealed))
    except (SealBroken, VaultUnavailable, orjson.JSONDecodeError):
        return None
    if not isinstance(note, dict) or (note.get("c"), note.get("w")) != (
        client_of(request),
        webhook_id,
    ):
        return None
    return {"secret": str(note.get("s")), "kind": str(note.get("k"))}


async def _row(request: web.Request) -> dict[str, Any]:
    """The client's endpoint the path names (another client's: 404)."""
    found = await _endpoints(request).get(client_of(request), request.match_info["webhook_id"])
    if found is None:
        raise web.HTTPNotFound()
    return found


async def _endpoint_page(
    request: web.Request,
    row: dict[str, Any],
    status: int = 200,
    failed: dict[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> web.Response:
    endpoints, client = _endpoints(request), client_of(request)
    once = _taken(request, row["id"]) if status == 200 else None
    done = request.query.get("done", "")
    context = {
        **_base(request),
        "title": f"Webhook {row['description'] or row['id']}",
        "hook": view(row),
        "stats": await endpoints.stats(client, row["id"]),
        "values": values or forms.shown(row),
        "failed": failed,
        "once": once,
        "done": DONE.get(done),
        "delivery": request.query.get("delivery", ""),
    }
    response = render(request, "webhook.html", context, status=status)
    if ONCE in request.cookies:
        response.del_cookie(ONCE, path=_path(row["id"]))
    return response


@page
async def show(request: web.Request) -> web.StreamResponse:
    """One endpoint the client made: its state, its forms."""
    return await _endpoint_page(request, await _row(request))


def _done(webhook_id: str, what: str, **extra: str) -> web.Response:
    return see_other(_path(webhook_id) + "?" + urlencode({"done": what, **extra}))


@page
async def edit(request: web.Request) -> web.StreamResponse:
    """Change the fields the edit form changed (a PATCH)."""
    row, form = await _row(request), form_of(request)
    try:
        body = forms.change(form, row)
        if not body:
            return _done(row["id"], "unchanged")
        await _endpoints(request).change(client_of(request), row["id"], body)
    except (FieldProblem, VaultUnavailable) as exc:
        status = 422 if isinstance(exc, FieldProblem) else 503
        return await _endpoint_page(request, row, status, _failed("edit", exc), _refill(form))
    return _done(row["id"], "saved")


@page
async def enable(request: web.Request) -> web.StreamResponse:
    """Enable an endpoint (a config hook by its event, or one the client made): its
    waiting deliveries are due again and its back-off ends."""
    app, client, name = request.app, client_of(request), request.match_info["endpoint"]
    if valid_id(name):
        return await _set_enabled(request, name, True)
    if name not in app[appkeys.SETTINGS].clients[client].webhooks:
        raise web.HTTPNotFound()
    give_up = app[appkeys.ENDPOINTS].give_up
    requeued = await outbox.enable(app[appkeys.DB], client, name, app[appkeys.CLOCK].now(), give_up)
    app[appkeys.OUTBOUND].wake_deliveries()
    return see_other(f"/console/webhooks?enabled={requeued}")


@page
async def disable(request: web.Request) -> web.StreamResponse:
    """Disable an endpoint the client made: its deliveries wait."""
    return await _set_enabled(request, request.match_info["webhook_id"], False)


async def _set_enabled(request: web.Request, webhook_id: str, enabled: bool) -> web.Response:
    changed = await _endpoints(request).change(client_of(request), webhook_id, {"enabled": enabled})
    if changed is None:
        raise web.HTTPNotFound()
    request.app[appkeys.OUTBOUND].wake_deliveries()
    return _done(webhook_id, "enabled" if enabled else "disabled")


@page
async def rotate(request: web.Request) -> web.StreamResponse:
    """A new signing secret, shown once; the old one still signs for the grace period."""
    row = await _row(request)
    try:
        rotated = await _endpoints(request).rotate(
            client_of(request), row["id"], forms.grace(form_of(request))
        )
    except (FieldProblem, VaultUnavailable) as exc:
        status = 422 if isinstance(exc, FieldProblem) else 503
        return await _endpoint_page(request, row, status, _failed("rotate", exc))
    if rotated is None:
        raise web.HTTPNotFound()
    response = see_other(_path(row["id"]))
    _hand_over(request, response, row["id"], rotated[1], "rotated")
    return response


@page
async def send_test(request: web.Request) -> web.StreamResponse:
    """Queue a sample event to this endpoint only, marked as a test."""
    row = await _row(request)
    try:
        sent = await _endpoints(request).send_test(
            client_of(request), row["id"], forms.test_event(form_of(request))
        )
    except FieldProblem as exc:
        return await _endpoint_page(request, row, 422, _failed("test", exc))
    if sent is None:
        raise web.HTTPNotFound()
    request.app[appkeys.OUTBOUND].wake_deliveries()
    return _done(row["id"], "tested", delivery=sent.id)


@page
async def confirm_delete(request: web.Request) -> web.StreamResponse:
    """Are you sure? (what still waits for it will not be sent)"""
    row = await _row(request)
    context = {"title": "Delete a webhook", "hook": view(row)}
    return render(request, "webhook_delete.html", context)


@page
async def delete(request: web.Request) -> web.StreamResponse:
    """Delete an endpoint: what still waited for it is dead; nothing more is sent to it."""
    webhook_id = request.match_info["webhook_id"]
    if not await _endpoints(request).delete(client_of(request), webhook_id):
        raise web.HTTPNotFound()
    return see_other("/console/webhooks?" + urlencode({"deleted": webhook_id}))


ROUTES = [
    ("GET", "/console/webhooks", list_endpoints),
    ("POST", "/console/webhooks", create),
    ("GET", "/console/webhooks/{webhook_id}", show),
    ("POST", "/console/webhooks/{webhook_id}", edit),
    ("POST", "/console/webhooks/{endpoint}/enable", enable),
    ("POST", "/console/webhooks/{webhook_id}/disable", disable),
    ("POST", "/console/webhooks/{webhook_id}/rotate", rotate),
    ("POST", "/console/webhooks/{webhook_id}/test", send_test),
    ("GET", "/console/webhooks/{webhook_id}/delete", confirm_delete),
    ("POST", "/console/webhooks/{webhook_id}/delete", delete),
]
