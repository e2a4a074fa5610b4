"""/console/traces: the client's flow traces (issue 26), newest first, by caller,
method, status, errorCode, call key and time; a trace's page (its request keys, secrets
"***" as stored, and its answer keys); a call's envelopes in order; "Export as replay
cases", which is ``GET /api/v1/traces/export`` itself for the same filter.

The filters are read by ``web.traces.selection_of`` (the API's own reading, through
``web.params``), after a time typed without an offset is placed in the client's zone;
rows come from ``traces.search`` (keyset on the traces' indexes, never OFFSET).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from flowhooks.console.pages import client_of, in_zone, page, render, see_other
from flowhooks.settings import TracesSettings
from flowhooks.traces import search
from flowhooks.traces.search import Selection
from flowhooks.web import keys as appkeys
from flowhooks.web import traces as traces_api
from flowhooks.web.params import BadParameter, id_of

NAV = ("/console/traces", "Traces")
FILTERS = ("cli", "method", "status", "errorCode", "callKey", "from", "to")
TIMES = ("from", "to")
AROUND = timedelta(minutes=30)  # a caller's envelopes without a call key: this either side
CALL_LIMIT = 500  # envelopes a call's page shows (a call makes tens)


def _zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[appkeys.SETTINGS].clients[client_of(request)].timezone)


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    """A time as a datetime-local field shows it, in the client's zone."""
    if when is None:
        return ""
    local = when.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M" if not local.second else "%Y-%m-%dT%H:%M:%S")


def _shown(docs: list[dict[str, Any]], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Traces with their time to the millisecond (a call's envelopes are a second
    apart or less) and their day, in the client's zone."""
    out = []
    for doc in docs:
        at = datetime.fromisoformat(doc["at"]).astimezone(zone)
        clock = f"{at:%H:%M:%S}.{at.microsecond // 1000:03d}"
        out.append({**doc, "clock": clock, "day": f"{at:%Y-%m-%d %z}"})
    return out


def selection(request: web.Request) -> tuple[Selection, dict[str, str], dict[str, str]]:
    """The page's filters checked as the API checks them: the selection, the filters as
    typed (for the form and the pager), and as the API's parameters (the export)."""
    q, zone = request.query, _zone(request)
    kept = {k: q[k].strip() for k in FILTERS if q.get(k, "").strip()}
    api = {k: in_zone(v, zone) if k in TIMES else v for k, v in kept.items()}
    app = request.app
    sel = traces_api.selection_of(
        api, client_of(request), app[appkeys.CLIENTS], app[appkeys.REGISTRY]
    )
    return sel, kept, api


def _cursor(text: str | None) -> search.Cursor | None:
    if not text:
        return None
    try:
        return search.parse_cursor(text)
    except (ValueError, OverflowError):
        raise BadParameter("cursor", "is not a cursor this page gave out") from None


def tracing(conf: TracesSettings) -> str | None:
    """What the pages say when traces are not every envelope's."""
    if not conf.enabled or conf.sample_rate == 0:
        return "Tracing is off ([traces] enabled = false): no new envelope is traced."
    if conf.sample_rate < 1:
        share = f"{conf.sample_rate * 100:.4g} %"
        return (
            f"Tracing is sampled ([traces] sample_rate): {share} of calls are traced (whole"
            " calls by their call key; other envelopes by chance)."
        )
    return None


def export_link(api: dict[str, str]) -> str:
    return "/console/traces.jsonl?" + urlencode({**api, "format": "replay"})


@page
async def list_traces(request: web.Request) -> web.StreamResponse:
    """The client's flow traces, newest first, by caller, method, status, errorCode,
    call key and time."""
    app = request.app
    sel, kept, api = selection(request)
    after = _cursor(request.query.get("cursor"))
    limit = app[appkeys.SETTINGS].console.page_size
    found, following = await search.page(app[appkeys.DB], sel, limit, after)
    zone = _zone(request)
    shown = {
        **kept,
        "from": _local(sel.since, zone),
        "to": _local(sel.until, zone),
        "status": sel.status or "",
    }
    context = {
        "title": "Traces",
        "traces": _shown(found, zone),
        "kept": shown,
        "methods": app[appkeys.REGISTRY].names(),
        "statuses": traces_api.STATUSES,
        "export": export_link(api),
        "tracing": tracing(app[appkeys.SETTINGS].traces),
        "older": "/console/traces?" + urlencode({**kept, "cursor": following})
        if following is not None
        else None,
        "newest": "/console/traces?" + urlencode(kept) if after is not None else None,
    }
    return render(request, "traces.html", context)


async def _trace(request: web.Request) -> dict[str, Any]:
    """The signed-in client's trace of the path's requestId, else 404."""
    request_id = id_of(request, "request_id")
    found = None
    if request_id is not None:
        found = await search.one(request.app[appkeys.DB], client_of(request), request_id)
    if found is None:
        raise web.HTTPNotFound()
    return found


def _keys(part: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [] if part is None else list(part.get("keys") or [])


@page
async def show_trace(request: web.Request) -> web.StreamResponse:
    """One trace: its request keys (secrets "***") and its answer keys."""
    trace = await _trace(request)
    context = {
        "title": f"Trace {trace['requestId']}",
        "t": trace,
        "sent": _keys(trace["request"]),
        "answered": _keys(trace["answer"]),
        "call": f"/console/traces/{quote(trace['requestId'], safe='')}/call",
    }
    return render(request, "trace.html", context)


def call_of(trace: dict[str, Any], zone: ZoneInfo) -> tuple[dict[str, str], str] | None:
    """The filter of a trace's call as the API's parameters, and the call's name: its
    call key, else its caller within ``AROUND`` of it; None when it has neither."""
    if trace["callKey"]:
        return {"callKey": trace["callKey"]}, trace["callKey"]
    if trace["cli"]:
        at = datetime.fromisoformat(trace["at"])
        since, until = at - AROUND, at + AROUND
        return (
            {"cli": trace["cli"], "from": since.isoformat(), "to": until.isoformat()},
            f"of {trace['cli']} around {at.astimezone(zone):%H:%M}",
        )
    return None


@page
async def show_call(request: web.Request) -> web.StreamResponse:
    """A trace's call: every envelope of its call key (or of its caller around it),
    oldest first."""
    app, trace, zone = request.app, await _trace(request), _zone(request)
    found = call_of(trace, zone)
    if found is None:
        envelopes, more, api, what = [trace], False, None, None
    else:
        api, what = found
        sel = traces_api.selection_of(
            api, client_of(request), app[appkeys.CLIENTS], app[appkeys.REGISTRY]
        )
        envelopes, more = await search.in_order(app[appkeys.DB], sel, CALL_LIMIT)
    context = {
        "title": f"Call {what}" if what is not None else f"Trace {trace['requestId']} alone",
        "t": trace,
        "envelopes": _shown(envelopes, zone),
        "what": what,
        "by_key": bool(trace["callKey"]),
        "around": int(AROUND.total_seconds() // 60),
        "more": more,
        "limit": CALL_LIMIT,
        "export": export_link(api) if api is not None else None,
        "search": "/console/traces?" + urlencode(api) if api is not None else None,
    }
    return render(request, "trace_call.html", context)


@page
async def download(request: web.Request) -> web.StreamResponse:
    """The API's own JSONL export, as the signed-in client (the guard set who that is),
    for the page's filter (a bad one is this page's 400, naming it)."""
    _sel, _kept, api = selection(request)
    wanted = {**api, "format": "replay"}
    if dict(request.query) != wanted:  # times typed without an offset: as the API reads them
        return see_other(export_link(api))
    export = traces_api.export_traces.__wrapped__  # type: ignore[attr-defined]
    response: web.StreamResponse = await export(request)
    return response


ROUTES = [
    ("GET", "/console/traces", list_traces),
    ("GET", "/console/traces.jsonl", download),
    ("GET", "/console/traces/{request_id}", show_trace),
    ("GET", "/console/traces/{request_id}/call", show_call),
]
