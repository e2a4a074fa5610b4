"""GET /api/v1/reports: a client's call reports as JSON pages or one streamed CSV (SPEC 2.5)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from aiohttp import web

from flowhooks.phones import NumberRefused
from flowhooks.storage import reports
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, BadParameter, bad, client_api, cursor_of, limit_of

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_COLUMNS = 200


def cell(value: object) -> str:
    """A CSV cell a spreadsheet never runs as a formula (a leading = + - @ gets a ')."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _instant(query: Any, name: str) -> datetime | None:
    text = query.get(name)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace(" ", "+"))  # a '+' in a query is a space
    except ValueError:
        raise BadParameter(name, "must be an ISO 8601 instant, e.g. 2026-11-23T10:00:00Z") from None
    if when.tzinfo is None:
        raise BadParameter(name, "needs an offset or Z")
    return when


def selection(request: web.Request) -> reports.Selection:
    q, client = request.query, request[CLIENT]
    cli = q.get("cli") or None
    if cli is not None:
        try:
            cli = request.app[appkeys.CLIENTS].number(client, cli)
        except NumberRefused as exc:
            raise BadParameter("cli", str(exc)) from None
    return reports.Selection(client, _instant(q, "from"), _instant(q, "to"), cli)


def columns_of(query: Any) -> list[str] | None:
    text = query.get("columns")
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(names) > MAX_COLUMNS or any(len(n) > 128 for n in names):
        raise BadParameter("columns", f"must name 1 to {MAX_COLUMNS} keys, comma-separated")
    return names


@client_api
async def list_reports(request: web.Request) -> web.StreamResponse:
    q = request.query
    try:
        sel = selection(request)
        fmt = q.get("format", "json")
        if fmt not in ("json", "csv"):
            raise BadParameter("format", "must be json or csv")
        if fmt == "csv":
            return await _csv(request, sel, columns_of(q))
        limit, after = limit_of(q), cursor_of(q)
    except BadParameter as exc:
        return bad(exc)
    rows = await reports.page(request.app[appkeys.DB], sel, limit, after)
    return web.json_response(
        {
            "reports": [
                {"reportId": r["id"], "createdAt": r["created_at"].isoformat(), "keys": r["keys"]}
                for r in rows
            ],
            "nextCursor": str(rows[-1]["seq"]) if len(rows) == limit else None,
        }
    )


async def _csv(
    request: web.Request, sel: reports.Selection, columns: list[str] | None
) -> web.StreamResponse:
    """Streamed batch by batch: the default columns take a first pass over the keys only."""
    db = request.app[appkeys.DB]
    if columns is None:
        names: set[str] = set()
        async for batch in reports.batches(db, sel, keys_only=True):
            for _seq, keys in batch:
                names.update(keys)
        columns = sorted(names)
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="reports.csv"',
        }
    )
    await resp.prepare(request)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["reportId", "createdAt", *(cell(c) for c in columns)])
    async for batch in reports.batches(db, sel):
        for _seq, report_id, created_at, keys in batch:
            out.writerow([report_id, created_at.isoformat(), *(cell(keys.get(c)) for c in columns)])
        await resp.write(buf.getvalue().encode())
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        await resp.write(buf.getvalue().encode())
    await resp.write_eof()
    return resp


ROUTES = [("GET", "/api/v1/reports", list_reports)]
