"""/console/links and /console/links/{code}: the client's short links with their clicks
and bot clicks; a link's clicks against bot clicks by day (UTC days) as a chart.

Counts are the ones ``GET /api/v1/links/{code}`` answers (``Links.stats``: the
database plus this process's clicks not written yet); days come from ``link_days``,
written with the clicks each second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from flowhooks.console import charts
from flowhooks.console.pages import client_of, page, render
from flowhooks.links.codes import is_well_formed
from flowhooks.web import keys as appkeys
from flowhooks.web.params import BadParameter

NAV = ("/console/links", "Links")
DAYS = 30


@page
async def list_links(request: web.Request) -> web.StreamResponse:
    app = request.app
    links = app[appkeys.LINKS]
    limit = app[appkeys.SETTINGS].console.page_size
    before = None
    text = request.query.get("before")
    if text:
        at, sep, code = text.rpartition("~")
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise BadParameter("before", "is not a cursor this page gave out") from None
        if not sep or not is_well_formed(code) or when.tzinfo is None:
            raise BadParameter("before", "is not a cursor this page gave out")
        before = (when, code)
    found = await links.listing(client_of(request), limit, before)
    older = None
    if len(found) == limit:
        last = found[-1]
        older = "/console/links?" + urlencode(
            {"before": f"{last.created_at.isoformat()}~{last.code}"}
        )
    context = {
        "title": "Short links",
        "links": [(link, links.short_url(link.code)) for link in found],
        "older": older,
        "newest": "/console/links" if before is not None else None,
    }
    return render(request, "links.html", context)


def day_labels(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


@page
async def show_link(request: web.Request) -> web.StreamResponse:
    app = request.app
    links = app[appkeys.LINKS]
    code = request.match_info["code"]
    link = await links.stats(code, client_of(request)) if is_well_formed(code) else None
    if link is None:
        raise web.HTTPNotFound()
    today = app[appkeys.CLOCK].now().astimezone(UTC).date()
    days = day_labels(today - timedelta(days=DAYS - 1), DAYS)
    counted = {day: (n, bots) for day, n, bots in await links.days(code, days[0])}
    chart = charts.columns(
        "Clicks and bot clicks by day (UTC)",
        [d.strftime("%d %b") for d in days],
        [
            charts.Series("clicks", [counted.get(d, (0, 0))[0] for d in days]),
            charts.Series("bot clicks", [counted.get(d, (0, 0))[1] for d in days], "bar2"),
        ],
        every=7,
    )
    rows = [(d, *counted[d]) for d in reversed(days) if d in counted]
    context = {
        "title": f"Link {code}",
        "link": link,
        "short_url": links.short_url(code),
        "chart": chart,
        "rows": rows,
    }
    return render(request, "link.html", context)


ROUTES = [
    ("GET", "/console/links", list_links),
    ("GET", "/console/links/{code}", show_link),
]
