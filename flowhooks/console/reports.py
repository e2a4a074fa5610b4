"""/console/reports: the client's call reports (pullreport), newest first, by time and
caller, and the CSV download, which is ``GET /api/v1/reports?format=csv`` itself (the
same streamed export, run as the signed-in client).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from flowhooks.console.pages import client_of, moment, page, render, see_other
from flowhooks.phones import NumberRefused
from flowhooks.storage import reports
from flowhooks.web import keys as appkeys
from flowhooks.web import reports as reports_api
from flowhooks.web.params import BadParameter, cursor_of

NAV = ("/console/reports", "Reports")
SHOWN_KEYS = 8  # a report's keys shown in its row; the rest under "more"


def selection(request: web.Request) -> tuple[reports.Selection, dict[str, str]]:
    """The page's filters as the storage's selection, and as the API's parameters."""
    q, client = request.query, client_of(request)
    zone = ZoneInfo(request.app[appkeys.SETTINGS].clients[client].timezone)
    since = moment(q, "from", zone)
    until = moment(q, "to", zone)
    typed = (q.get("cli") or "").strip()
    cli = None
    if typed:
        try:
            cli = request.app[appkeys.CLIENTS].number(client, typed)
        except NumberRefused as exc:
            raise BadParameter("cli", str(exc)) from None
    api: dict[str, str] = {}
    if since is not None:
        api["from"] = since.isoformat()
    if until is not None:
        api["to"] = until.isoformat()
    if cli is not None:
        api["cli"] = cli
    return reports.Selection(client, since, until, cli), api


@page
async def list_reports(request: web.Request) -> web.StreamResponse:
    sel, api = selection(request)
    before = cursor_of(request.query, "before", "this page")
    limit = request.app[appkeys.SETTINGS].console.page_size
    rows = await reports.latest(request.app[appkeys.DB], sel, limit, before)
    kept = {k: request.query[k] for k in ("from", "to", "cli") if request.query.get(k)}
    shown: list[dict[str, Any]] = []
    for r in rows:
        items = sorted(r["keys"].items())
        shown.append({**r, "first": items[:SHOWN_KEYS], "rest": items[SHOWN_KEYS:]})
    context = {
        "title": "Reports",
        "reports": shown,
        "kept": kept,
        "csv": "/console/reports.csv?" + urlencode({**api, "format": "csv"}),
        "older": "/console/reports?" + urlencode({**kept, "before": rows[-1]["seq"]})
        if len(rows) == limit
        else None,
        "newest": "/console/reports?" + urlencode(kept) if before is not None else None,
    }
    return render(request, "reports.html", context)


@page
async def download(request: web.Request) -> web.StreamResponse:
    """The API's own CSV export, as the signed-in client (the guard set who that is)."""
    if request.query.get("format") != "csv":
        return see_other("/console/reports.csv?" + urlencode({**request.query, "format": "csv"}))
    export = reports_api.list_reports.__wrapped__  # type: ignore[attr-defined]
    response: web.StreamResponse = await export(request)
    return response


ROUTES = [
    ("GET", "/console/reports", list_reports),
    ("GET", "/console/reports.csv", download),
]
