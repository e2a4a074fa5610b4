"""/console/agents and /console/agents/{cli}: the agent board (paused or not, the last
allotment), a toggle, and each agent's audit history.

The toggle is ``storage.agents.set_pause`` with ``toggle``, what
``updatePauseStatusForCLI`` runs, so it is kept in the same audit trail (source: the
console's request id); the history is ``GET /api/v1/agents/{cli}/history``'s.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from flowhooks.console.pages import client_of, form_of, page, render, see_other
from flowhooks.phones import NumberRefused
from flowhooks.storage import agents
from flowhooks.storage.agents import PauseAction
from flowhooks.web import keys as appkeys
from flowhooks.web.edge import REQUEST_ID
from flowhooks.web.params import BadParameter

NAV = ("/console/agents", "Agents")
HISTORY = 100


def _cli(request: web.Request) -> str:
    try:
        return request.app[appkeys.CLIENTS].number(client_of(request), request.match_info["cli"])
    except NumberRefused:
        raise web.HTTPNotFound() from None


@page
async def board(request: web.Request) -> web.StreamResponse:
    after = request.query.get("after") or None
    if after is not None and (len(after) > 20 or not after.startswith("+")):
        raise BadParameter("after", "is not a cursor this page gave out")
    limit = request.app[appkeys.SETTINGS].console.page_size
    found = await agents.listing(request.app[appkeys.DB], client_of(request), limit, after)
    context = {
        "title": "Agents",
        "agents": found,
        "older": "/console/agents?" + urlencode({"after": found[-1].cli})
        if len(found) == limit
        else None,
        "newest": "/console/agents" if after else None,
    }
    return render(request, "agents.html", context)


@page
async def show_agent(request: web.Request) -> web.StreamResponse:
    db, client, cli = request.app[appkeys.DB], client_of(request), _cli(request)
    agent = await agents.get(db, client, cli)
    if agent is None:
        raise web.HTTPNotFound()
    events = await agents.history(db, client, cli, HISTORY)
    return render(
        request, "agent.html", {"title": f"Agent {agent.name}", "agent": agent, "events": events}
    )


@page
async def toggle(request: web.Request) -> web.StreamResponse:
    app, client, cli = request.app, client_of(request), _cli(request)
    now = app[appkeys.CLOCK].now()
    agent = await agents.set_pause(
        app[appkeys.DB], client, cli, PauseAction.TOGGLE, now, request[REQUEST_ID]
    )
    if agent is None:
        raise web.HTTPNotFound()
    if form_of(request).get("next") == "agent":
        return see_other(f"/console/agents/{quote(cli, safe='')}")
    return see_other("/console/agents")


ROUTES = [
    ("GET", "/console/agents", board),
    ("GET", "/console/agents/{cli}", show_agent),
    ("POST", "/console/agents/{cli}/toggle", toggle),
]
