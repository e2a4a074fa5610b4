"""/console/calls and /console/calls/{obdReqID}: outbound calls, newest first; one
request's calls with their attempts and the timeline of each call's state changes
(the provider callbacks' payloads as received), and Cancel while calls have not started.

The list reads ``storage.outbound.list_calls`` (keyset on the requests' own index);
a request's page is ``GET /api/v1/outbound/{obdReqID}``'s view, and Cancel is the
same ``Outbound.cancel`` as ``DELETE /api/v1/outbound/{obdReqID}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import web

from flowhooks.console.pages import client_of, page, render, see_other
from flowhooks.outbound.model import CallState
from flowhooks.phones import NumberRefused
from flowhooks.storage import outbound as store
from flowhooks.web import keys as appkeys
from flowhooks.web.params import BadParameter, id_of

NAV = ("/console/calls", "Calls")
STATES = [s.value for s in CallState]


def _cursor(text: str | None) -> tuple[datetime, str] | None:
    if not text:
        return None
    at, sep, rid = text.rpartition("~")
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise BadParameter("before", "is not a cursor this page gave out") from None
    if not sep or not rid or when.tzinfo is None:
        raise BadParameter("before", "is not a cursor this page gave out")
    return when, rid


def _filters(request: web.Request) -> tuple[str | None, str | None, str]:
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in STATES:
        raise BadParameter("state", f"must be one of {', '.join(STATES)}")
    typed = (q.get("number") or "").strip()
    number = None
    if typed:
        try:
            number = request.app[appkeys.CLIENTS].number(client_of(request), typed)
        except NumberRefused as exc:
            raise BadParameter("number", str(exc)) from None
    return state, number, typed


@page
async def list_calls(request: web.Request) -> web.StreamResponse:
    state, number, typed = _filters(request)
    limit = request.app[appkeys.SETTINGS].console.page_size
    before = _cursor(request.query.get("before"))
    calls, more = await store.list_calls(
        request.app[appkeys.DB],
        client_of(request),
        state=state,
        number=number,
        limit=limit,
        before=before,
    )
    kept = {k: v for k, v in (("state", state), ("number", typed)) if v}
    older = None
    if more is not None:
        older = "/console/calls?" + urlencode(
            {**kept, "before": f"{more[0].isoformat()}~{more[1]}"}
        )
    newest = "/console/calls?" + urlencode(kept) if before is not None else None
    context = {
        "title": "Calls",
        "calls": calls,
        "states": STATES,
        "state": state or "",
        "number": typed,
        "older": older,
        "newest": newest,
        "scanned_empty": not calls and more is not None,
    }
    return render(request, "calls.html", context)


def _timeline(call: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for event in call["history"]:
        raw = event.get("raw")
        steps.append(
            {
                **event,
                "raw_text": None
                if raw is None
                else orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode(),
            }
        )
    return steps


@page
async def show_request(request: web.Request) -> web.StreamResponse:
    req_id = id_of(request, "req_id")  # as the API: a malformed id is no request
    view = req_id and await store.request_view(request.app[appkeys.DB], client_of(request), req_id)
    if not view:
        raise web.HTTPNotFound()
    calls = [{**c, "timeline": _timeline(c)} for c in view["calls"]]
    context = {
        "title": f"Request {view['obdReqID']}",
        "req": view,
        "calls": calls,
        "cancellable": any(c["state"] == CallState.QUEUED for c in calls),
        "live": any(not CallState(c["state"]).final for c in calls),
        "cancelled": request.query.get("cancelled"),
    }
    return render(request, "call.html", context)


@page
async def cancel(request: web.Request) -> web.StreamResponse:
    req_id = id_of(request, "req_id")
    if req_id is None:
        raise web.HTTPNotFound()
    now = request.app[appkeys.CLOCK].now()
    result = await request.app[appkeys.OUTBOUND].cancel(client_of(request), req_id, now)
    if result is None:
        raise web.HTTPNotFound()
    done = urlencode({"cancelled": len(result[0])})
    return see_other(f"/console/calls/{quote(req_id, safe='')}?{done}")


ROUTES = [
    ("GET", "/console/calls", list_calls),
    ("GET", "/console/calls/{req_id}", show_request),
    ("POST", "/console/calls/{req_id}/cancel", cancel),
]
