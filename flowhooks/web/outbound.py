"""/api/v1/outbound/{obdReqID}: a request with its calls, attempts and history; cancel."""

from __future__ import annotations

from aiohttp import web

from flowhooks.storage import outbound as store
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, problem


@client_api
async def get_request(request: web.Request) -> web.Response:
    db = request.app[appkeys.DB]
    view = await store.request_view(db, request[CLIENT], request.match_info["req_id"])
    if view is None:
        return problem(404, "NOT_FOUND", "no such request for this client")
    return web.json_response(view)


@client_api
async def cancel_request(request: web.Request) -> web.Response:
    now = request.app[appkeys.CLOCK].now()
    result = await request.app[appkeys.OUTBOUND].cancel(
        request[CLIENT], request.match_info["req_id"], now
    )
    if result is None:
        return problem(404, "NOT_FOUND", "no such request for this client")
    cancelled, started = result
    return web.json_response({"cancelled": cancelled, "notCancelled": started})


ROUTES = [
    ("GET", "/api/v1/outbound/{req_id}", get_request),
    ("DELETE", "/api/v1/outbound/{req_id}", cancel_request),
]
