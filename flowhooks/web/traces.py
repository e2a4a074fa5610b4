"""GET /api/v1/traces: a client's flow traces, one by requestId, and the replay export.

The query parameters are read through ``web.params`` like every /api/v1 list: a
malformed one is a 400 naming it; times are bounded like ``X-Flowhooks-Now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from flowhooks.clients import Clients
from flowhooks.methods.registry import MethodRegistry
from flowhooks.phones import NumberRefused
from flowhooks.traces import search
from flowhooks.traces.search import Cursor, Selection
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, problem
from flowhooks.web.params import BadParameter, id_of, instant_of, limit_of, text_of

MAX_EXPORT = 1_000_000
STATUSES = ("SUCCESS", "FAILED")

# -- query parameters (read by web.params, like every /api/v1 list) ------------------


def _method(query: Mapping[str, str], registry: MethodRegistry) -> str | None:
    text = text_of(query, "method", 64)
    if text is None:
        return None
    known = registry.lookup(text)
    return known.method if known is not None else text


def _status(query: Any) -> str | None:
    text = text_of(query, "status", 16)
    if text is not None and text.upper() not in STATUSES:
        raise BadParameter("status", "must be SUCCESS or FAILED")
    return None if text is None else text.upper()


def _cursor(query: Any) -> Cursor | None:
    text = query.get("cursor")
    if text is None or text == "":
        return None
    try:
        return search.parse_cursor(text)
    except (ValueError, OverflowError):
        raise BadParameter("cursor", "is not a cursor this API gave out") from None


def selection_of(
    q: Mapping[str, str], client: str, clients: Clients, registry: MethodRegistry
) -> Selection:
    """The filters: cli (any format of the number), method, status, errorCode, callKey,
    from (inclusive), to (exclusive). The command line's export reads them here too."""
    cli = text_of(q, "cli", 64)
    if cli is not None:
        try:
            cli = clients.number(client if client in clients else "default", cli)
        except NumberRefused as exc:
            raise BadParameter("cli", str(exc)) from None
    since, until = instant_of(q, "from"), instant_of(q, "to")
    if since is not None and until is not None and since >= until:
        raise BadParameter("from", "must be before to")
    return Selection(
        client,
        since,
        until,
        cli,
        _method(q, registry),
        _status(q),
        text_of(q, "errorCode", 64),
        text_of(q, "callKey", 128),
    )


def selection(request: web.Request) -> Selection:
    app = request.app
    return selection_of(request.query, request[CLIENT], app[appkeys.CLIENTS], app[appkeys.REGISTRY])


def export_limit(query: Mapping[str, str]) -> int | None:
    text = query.get("limit")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_EXPORT:
        raise BadParameter("limit", f"must be a whole number from 1 to {MAX_EXPORT}")
    return int(text)


# -- routes ----------------------------------------------------------------------------


@client_api
async def list_traces(request: web.Request) -> web.StreamResponse:
    sel = selection(request)  # a BadParameter is the edge's 400 naming it
    limit, after = limit_of(request.query), _cursor(request.query)
    found, following = await search.page(request.app[appkeys.DB], sel, limit, after)
    return web.json_response({"traces": found, "nextCursor": following})


@client_api
async def one_trace(request: web.Request) -> web.StreamResponse:
    request_id = id_of(request, "requestId")
    found = None
    if request_id is not None:
        found = await search.one(request.app[appkeys.DB], request[CLIENT], request_id)
    if found is None:
        return problem(404, "NOT_FOUND", "no trace of that requestId for this client")
    return web.json_response(found)


@client_api
async def export_traces(request: web.Request) -> web.StreamResponse:
    """JSONL replay cases (SPEC 5), oldest first, streamed batch by batch."""
    sel = selection(request)
    limit = export_limit(request.query)
    if request.query.get("format", "replay") != "replay":
        raise BadParameter("format", "must be replay")
    resp = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "Content-Disposition": 'attachment; filename="traces.jsonl"',
        }
    )
    await resp.prepare(request)
    async for _read, cases in search.cases(request.app[appkeys.DB], sel, limit):
        if cases:
            await resp.write(b"".join(orjson.dumps(c) + b"\n" for c in cases))
    await resp.write_eof()
    return resp


ROUTES = [
    ("GET", "/api/v1/traces", list_traces),
    ("GET", "/api/v1/traces/export", export_traces),  # before {requestId}: matched in order
    ("GET", "/api/v1/traces/{requestId}", one_trace),
]
