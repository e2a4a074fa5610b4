"""/api/v1/outbound/{obdReqID}: a request with its calls, attempts and history; cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from flowhooks.storage import outbound as store
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, problem
from flowhooks.web.params import id_of

# a stored attempt's and state change's columns -> the API's keys (every /api/v1 key is
# camelCase; a column not named here is not shown)
ATTEMPT_KEYS = {
    "attempt": "attempt",
    "provider_call_id": "providerCallId",
    "started_at": "startedAt",
    "ended_at": "endedAt",
    "outcome": "outcome",
    "end_call_reason": "endCallReason",
    "duration": "duration",
    "recording_url": "recordingUrl",
}
HISTORY_KEYS = {
    "attempt": "attempt",
    "kind": "kind",
    "from_state": "fromState",
    "to_state": "toState",
    "source": "source",
    "detail": "detail",
    "raw": "raw",  # the provider's payload as received: its keys are the provider's
    "at": "at",
}


def _renamed(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names[key]: value for key, value in row.items() if key in names}


def request_json(view: dict[str, Any]) -> dict[str, Any]:
    """The stored view of a request with its calls' attempts and history in the API's keys."""
    calls = [
        {
            **call,
            "attempts": [_renamed(a, ATTEMPT_KEYS) for a in call["attempts"]],
            "history": [_renamed(h, HISTORY_KEYS) for h in call["history"]],
        }
        for call in view["calls"]
    ]
    return {**view, "calls": calls}


@client_api
async def get_request(request: web.Request) -> web.Response:
    db, req_id = request.app[appkeys.DB], id_of(request, "req_id")
    view = None if req_id is None else await store.request_view(db, request[CLIENT], req_id)
    if view is None:
        return problem(404, "NOT_FOUND", "no such request for this client")
    return web.json_response(request_json(view))


@client_api
async def cancel_request(request: web.Request) -> web.Response:
    now, req_id = request.app[appkeys.CLOCK].now(), id_of(request, "req_id")
    outbound = request.app[appkeys.OUTBOUND]
    result = None if req_id is None else await outbound.cancel(request[CLIENT], req_id, now)
    if result is None:
        return problem(404, "NOT_FOUND", "no such request for this client")
    cancelled, started = result
    return web.json_response({"cancelled": cancelled, "notCancelled": started})


ROUTES = [
    ("GET", "/api/v1/outbound/{req_id}", get_request),
    ("DELETE", "/api/v1/outbound/{req_id}", cancel_request),
]
