"""GET /api/v1/traces: a client's flow traces, one by requestId, and the replay export.

The query parameters are read by the small function set below (``selection`` and its
helpers): a malformed one is a 400 naming it; times are ISO 8601 with an offset within
1970-9000.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from flowhooks.clients import Clients
from flowhooks.methods.registry import MethodRegistry
from flowhooks.phones import NumberRefused
from flowhooks.texts import has_control
from flowhooks.traces import search
from flowhooks.traces.search import Cursor, Selection
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, BadParameter, bad, client_api, limit_of, problem

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_EXPORT = 1_000_000
STATUSES = ("SUCCESS", "FAILED")

# -- query parameters ------------------------------------------------------------------


def _instant(query: Any, name: str) -> datetime | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        when = datetime.fromisoformat(text.replace(" ", "+"))  # a '+' in a query is a space
    except ValueError:
        raise BadParameter(name, "must be an ISO 8601 instant, e.g. 2026-11-23T10:00:00Z") from None
    if when.tzinfo is None:
        raise BadParameter(name, "needs an offset or Z")
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        raise BadParameter(name, "must be between 1970-01-01 and 9000-01-01") from None
    if not EARLIEST <= when < LATEST:
        raise BadParameter(name, "must be between 1970-01-01 and 9000-01-01")
    return when


def _text(query: Any, name: str, max_chars: int) -> str | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    if len(text) > max_chars or has_control(text):
        raise BadParameter(name, f"must be 1 to {max_chars} characters without control ones")
    return str(text)


def _method(query: Mapping[str, str], registry: MethodRegistry) -> str | None:
    text = _text(query, "method", 64)
    if text is None:
        return None
    known = registry.lookup(text)
    return known.method if known is not None else text


def _status(query: Any) -> str | None:
    text = _text(query, "status", 16)
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
    cli = _text(q, "cli", 64)
    if cli is not None:
        try:
            cli = clients.number(client if client in clients else "default", cli)
        except NumberRefused as exc:
            raise BadParameter("cli", str(exc)) from None
    since, until = _instant(q, "from"), _instant(q, "to")
    if since is not None and until is not None and since >= until:
        raise BadParameter("from", "must be before to")
    return Selection(
        client,
        since,
        until,
        cli,
        _method(q, registry),
        _status(q),
        _text(q, "errorCode", 64),
        _text(q, "callKey", 128),
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
    request_id = request.match_info["requestId"]
    found = None
    if len(request_id) <= 64:
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
