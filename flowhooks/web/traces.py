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
from flowhooks.web.params import BadParameter, bad, id_of, instant_of, limit_of, text_of

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
    try:
        sel = selection(request)
        limit, after = limit_of(request.query), _cursor(request.query)
    except BadParameter as exc:
        return bad(exc)
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
    try:
        sel = selection(request)
        limit = export_limit(request.query)
        if request.query.get("format", "replay") != "replay":
            raise BadParameter("format", "must be replay")
    except BadParameter as exc:
        return bad(exc)
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


# -- OpenAPI ---------------------------------------------------------------------------

_KEYS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {
            "name": {"type": "string"},
            "value": {"type": ["string", "number", "boolean", "null"]},
        },
    },
}
TRACE_SCHEMA = {
    "type": "object",
    "required": [
        "requestId", "at", "method", "httpStatus", "status", "errorCode", "latencyMs",
        "cli", "callKey", "cut", "request", "answer",
    ],
    "properties": {
        "requestId": {"type": "string"},
        "at": {"type": "string", "format": "date-time", "description": "now as the method saw it"},
        "method": {"type": "string"},
        "httpStatus": {"type": "integer"},
        "status": {"type": "string", "description": "SUCCESS or FAILED"},
        "errorCode": {"type": "string"},
        "latencyMs": {"type": "number"},
        "cli": {"type": "string", "description": "the caller's number, E.164, or empty"},
        "callKey": {"type": "string", "description": "the first [traces] call_keys sent"},
        "cut": {"type": "boolean", "description": "a value was cut at max_value_chars"},
        "request": {
            "type": ["object", "null"],
            "description": "the envelope as sent, secrets \"***\"; null: not an envelope",
            "properties": {"method": {"type": "string"}, "keys": _KEYS},
        },
        "answer": {"type": "object", "required": ["keys"], "properties": {"keys": _KEYS}},
    },
}  # fmt: skip
_PAGE = {
    "type": "object",
    "required": ["traces", "nextCursor"],
    "properties": {
        "traces": {"type": "array", "items": {"$ref": "#/components/schemas/Trace"}},
        "nextCursor": {"type": ["string", "null"]},
    },
}
_FILTERS = [
    ("cli", "the caller's number, any format (matched as E.164)"),
    ("method", "a method name, any case"),
    ("status", "SUCCESS or FAILED"),
    ("errorCode", "an errorCode, e.g. NO_VALID_SLOT"),
    ("callKey", "a call's key ([traces] call_keys)"),
    ("from", "ISO 8601 instant with offset, inclusive (1970-9000)"),
    ("to", "ISO 8601 instant with offset, exclusive (1970-9000)"),
]


def _param(name: str, where: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "string"},
    }


def _answer(description: str, schema: dict[str, Any], media: str = "application/json") -> Any:
    return {"description": description, "content": {media: {"schema": schema}}}


def _operation(
    summary: str, params: list[dict[str, Any]], ok: dict[str, Any], codes: str
) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    texts = {
        "400": "BAD_PARAMETER: a query parameter is malformed (named in error.parameter)",
        "401": "UNAUTHORIZED: a client's api_token is required as Bearer token",
        "404": "NOT_FOUND: no trace of that requestId for this client",
        "503": "STORAGE_UNAVAILABLE: the database cannot be reached",
    }
    return {
        "summary": summary,
        "parameters": params,
        "security": [{"clientToken": []}],
        "responses": {"200": ok, **{c: _answer(texts[c], problem) for c in codes.split()}},
    }


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of these routes (``web.openapi`` merges them)."""
    q = "query"
    filters = [_param(name, q, text) for name, text in _FILTERS]
    paging = [
        _param("limit", q, "1-1000 (default 100)"),
        _param("cursor", q, "the nextCursor of the previous page"),
    ]
    case = {"type": "string", "description": "one SPEC 5 replay case (JSON) a line"}
    export = [
        *filters,
        _param("limit", q, "at most this many traces, 1-1000000 (default: all)"),
        _param("format", q, "replay (the only one)"),
    ]
    request_id = _param("requestId", "path", "the requestId of the answer")
    return {
        "/api/v1/traces": {
            "get": _operation(
                "A client's flow traces, newest first (keyset paging)",
                [*filters, *paging],
                _answer("a page of traces", _PAGE),
                "400 401 503",
            )
        },
        "/api/v1/traces/export": {
            "get": _operation(
                "A client's traces as JSONL replay cases (SPEC 5), oldest first, streamed",
                export,
                _answer("replay cases", case, "application/x-ndjson"),
                "400 401 503",
            )
        },
        "/api/v1/traces/{requestId}": {
            "get": _operation(
                "One trace (the newest of that requestId)",
                [request_id],
                _answer("the trace", {"$ref": "#/components/schemas/Trace"}),
                "401 404 503",
            )
        },
    }
