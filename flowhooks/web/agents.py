"""/api/v1/agents/{cli}: register an agent, read it, read its break-status history."""

from __future__ import annotations

from aiohttp import web

from flowhooks.storage import agents
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, json_body, problem, text_field
from flowhooks.web.edge import REQUEST_ID
from flowhooks.web.params import limit_of

MAX_NAME_CHARS = 200  # agents.name


def _cli(request: web.Request) -> str:
    return request.app[appkeys.CLIENTS].number(request[CLIENT], request.match_info["cli"])


@client_api
async def put_agent(request: web.Request) -> web.Response:
    db = request.app[appkeys.DB]
    client = request[CLIENT]
    body = await json_body(request)
    name = text_field(body, "name", MAX_NAME_CHARS)
    did_text = text_field(body, "did", 64)
    cli = _cli(request)
    did = request.app[appkeys.CLIENTS].number(client, did_text)
    now = request.app[appkeys.CLOCK].now()
    entry = (client, cli, name, did)
    await agents.upsert(db, [entry], "api", now, request[REQUEST_ID])
    agent = await agents.get(db, client, cli)
    assert agent is not None
    return web.json_response(agent.as_json())


@client_api
async def get_agent(request: web.Request) -> web.Response:
    agent = await agents.get(request.app[appkeys.DB], request[CLIENT], _cli(request))
    if agent is None:
        return problem(404, "AGENT_NOT_FOUND", "no such agent for this client")
    return web.json_response(agent.as_json())


@client_api
async def agent_history(request: web.Request) -> web.Response:
    db = request.app[appkeys.DB]
    client, cli, limit = request[CLIENT], _cli(request), limit_of(request.query)
    if await agents.get(db, client, cli) is None:
        return problem(404, "AGENT_NOT_FOUND", "no such agent for this client")
    events = await agents.history(db, client, cli, limit)
    return web.json_response({"cli": cli, "events": events})


ROUTES = [
    ("PUT", "/api/v1/agents/{cli}", put_agent),
    ("GET", "/api/v1/agents/{cli}", get_agent),
    ("GET", "/api/v1/agents/{cli}/history", agent_history),
]
