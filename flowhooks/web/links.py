"""The redirector ``GET|HEAD /s/{code}``, ``POST /api/v1/shorten`` (the seed's JSON) and
``GET /api/v1/links/{code}`` (SPEC 2.8)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from flowhooks.links.codes import is_well_formed
from flowhooks.links.urls import check_long_url, expire_days
from flowhooks.links.useragents import is_bot
from flowhooks.storage.links import StoredLink
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, json_body, problem

REDIRECT_HEADERS = {"Cache-Control": "private, max-age=0", "Referrer-Policy": "no-referrer"}


async def redirect(request: web.Request) -> web.StreamResponse:
    """302 to the long URL, counting the click; a malformed code is 404 with no query."""
    code = request.match_info["code"]
    if not is_well_formed(code):
        return problem(404, "NOT_FOUND", "no such link")
    links = request.app[appkeys.LINKS]
    link = await links.find(code)
    if link is None:
        return problem(404, "NOT_FOUND", "no such link")
    now = request.app[appkeys.CLOCK].now()
    if link.expires_at is not None and now >= link.expires_at:
        return problem(410, "EXPIRED", "this link has expired")
    links.click(code, is_bot(request.headers.get("User-Agent"), request.method), now)
    return web.Response(status=302, headers={"Location": link.long_url, **REDIRECT_HEADERS})


async def shorten(request: web.Request) -> web.Response:
    """The seed's short-URL API: ``{"custToken", "longUrl", "expireDays"?}`` -> ``{"shortUrl"}``."""
    body = await json_body(request)
    token = body.get("custToken")
    clients = request.app[appkeys.CLIENTS]
    client = clients.for_cust_token(token) if isinstance(token, str) else None
    if client is None:
        return problem(401, "UNAUTHORIZED", "custToken is not a client's cust_token")
    long_url, days = body.get("longUrl"), body.get("expireDays")
    try:
        url = check_long_url(long_url if isinstance(long_url, str) else "")
    except ValueError as exc:
        return problem(400, "BAD_REQUEST", f"longUrl: {exc}", parameter="longUrl")
    try:
        days_ = expire_days(None if days is None else str(days))  # 5 or "5"; not 5.0 or true
    except ValueError as exc:
        return problem(400, "BAD_REQUEST", f"expireDays: {exc}", parameter="expireDays")
    links = request.app[appkeys.LINKS]
    link = await links.create(client, url, request.app[appkeys.CLOCK].now(), days_)
    return web.json_response({"shortUrl": links.short_url(link.code)})


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds").replace("+00:00", "Z")


def link_json(link: StoredLink, short_url: str) -> dict[str, object]:
    return {
        "code": link.code,
        "shortUrl": short_url,
        "longUrl": link.long_url,
        "clicks": link.clicks,
        "botClicks": link.bot_clicks,
        "lastClickAt": _iso(link.last_click_at),
        "createdAt": _iso(link.created_at),
        "expiresAt": _iso(link.expires_at),
    }


@client_api
async def link_stats(request: web.Request) -> web.Response:
    """One of the client's own links with its counts; another client's is 404."""
    code = request.match_info["code"]
    links = request.app[appkeys.LINKS]
    found = await links.stats(code, request[CLIENT]) if is_well_formed(code) else None
    if found is None:
        return problem(404, "NOT_FOUND", "no such link of this client")
    return web.json_response(link_json(found, links.short_url(code)))


ROUTES = [
    ("GET", "/s/{code}", redirect),
    ("HEAD", "/s/{code}", redirect),
    ("POST", "/api/v1/shorten", shorten),
    ("GET", "/api/v1/links/{code}", link_stats),
]
