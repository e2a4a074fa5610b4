"""GET /api/v1/reports: a client's call reports as JSON pages or one streamed CSV (SPEC 2.5)."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from flowhooks.phones import NumberRefused
from flowhooks.storage import reports
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api
from flowhooks.web.params import (
    BadParameter,
    Query,
    choice_of,
    cursor_of,
    instant_of,
    limit_of,
    text_of,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_COLUMNS = 200


def cell(value: object) -> str:
    """A CSV cell a spreadsheet never runs as a formula (a leading = + - @ gets a ')."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def selection(request: web.Request) -> reports.Selection:
    q, client = request.query, request[CLIENT]
    cli = text_of(q, "cli")
    if cli is not None:
        try:
            cli = request.app[appkeys.CLIENTS].number(client, cli)
        except NumberRefused as exc:
            raise BadParameter("cli", str(exc)) from None
    return reports.Selection(client, instant_of(q, "from"), instant_of(q, "to"), cli)


def columns_of(query: Query) -> list[str] | None:
    text = text_of(query, "columns", MAX_COLUMNS * 129)
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(names) > MAX_COLUMNS or any(len(n) > 128 for n in names):
        raise BadParameter("columns", f"must name 1 to {MAX_COLUMNS} keys, comma-separated")
    return names


@client_api
async def list_reports(request: web.Request) -> web.StreamResponse:
    q = request.query
    sel = selection(request)
    if choice_of(q, "format", ("json", "csv")) == "csv":
        return await _csv(request, sel, columns_of(q))
    limit, after = limit_of(q), cursor_of(q)
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
