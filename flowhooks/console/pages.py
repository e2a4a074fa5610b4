"""What every console page shares: the session guard, CSRF on changes, security headers,
rendering a template with the layout's context, HTML error pages.

A page view is ``@page async def view(request) -> web.StreamResponse``. The guard
sends a browser without a session to the sign-in page, refuses a POST whose form has
not the session's CSRF token (403), and turns errors into HTML pages; every answer
gets the Content-Security-Policy (scripts and styles from /console/static only: no
inline script, no inline event handler, no inline style) and is not cached.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from flowhooks.console.auth import Session, Sessions, csrf_ok, new_session
from flowhooks.errors import StorageUnavailable
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT
from flowhooks.web.edge import REQUEST_ID
from flowhooks.web.params import BadParameter, instant_of

log = logging.getLogger("flowhooks.console")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
LOGIN = "/console/login"


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str


@dataclass
class Console:
    """The console of one app: its sessions and its navigation."""

    sessions: Sessions
    nav: list[NavEntry] = field(default_factory=list)


CONSOLE = web.AppKey("console", Console)
SESSION = web.RequestKey("console_session", Session)
FORM = web.RequestKey("console_form", MultiDictProxy)

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def secured(response: web.StreamResponse) -> web.StreamResponse:
    if response.prepared:  # streamed (a CSV): its headers are sent already
        return response
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def see_other(location: str) -> web.Response:
    """303 to ``location`` (a GET after a POST)."""
    return web.Response(status=303, headers={"Location": location, **PAGE_HEADERS})


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    context = {"title": title, "message": message, "status": status}
    response = render(request, "error.html", context, status=status)
    return response


def render(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    """The template with what the layout needs (session, navigation, client picker)."""
    console = request.app[CONSOLE]
    session = request.get(SESSION)
    settings = request.app[appkeys.SETTINGS]
    client = session.client if session is not None else None
    conf = settings.clients.get(client) if client is not None else None
    base = {
        "zone": ZoneInfo(conf.timezone) if conf is not None else UTC,
        "session": session,
        "nav": console.nav if session is not None and session.signed_in else [],
        "path": request.path,
        "clients": sorted(settings.clients) if session is not None and session.operator else [],
        "request_id": request.get(REQUEST_ID, ""),
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    secured(response)
    return response


@jinja2.pass_context
def when(context: Any, value: object) -> str:
    """A moment (a datetime or ISO text) in the zone of the client being looked at."""
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(context.get("zone") or UTC).strftime("%Y-%m-%d %H:%M:%S %z")


def client_of(request: web.Request) -> str:
    """The client whose console this page shows."""
    client = request[SESSION].client
    assert client is not None
    return client


def form_of(request: web.Request) -> MultiDictProxy[Any]:
    return request[FORM]


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _form(request: web.Request) -> MultiDictProxy[Any] | None:
    """The posted form, or None when it is not one (a wrong or malformed content type)."""
    if request.content_type not in FORM_TYPES:
        return None
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError):
        return None


def _to_sign_in(request: web.Request) -> web.Response:
    target = request.path_qs if request.method == "GET" else "/console"
    return see_other(f"{LOGIN}?next={quote(target, safe='/')}")


def page(view: View) -> View:
    """A console page: needs a session, a CSRF token on POST; errors as HTML pages."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        console = request.app[CONSOLE]
        session = console.sessions.read(request)
        if session is None or not session.signed_in:
            return _to_sign_in(request)
        request[SESSION] = session
        if session.client is not None:
            request[CLIENT] = session.client  # the /api/v1 views it reuses read this
        refused = await _posted_form(request, session)
        if refused is not None:
            return refused
        return await answered(request, view)

    return guarded


async def _posted_form(request: web.Request, session: Session | None) -> web.StreamResponse | None:
    """A POST's form, kept in ``request[FORM]`` when it is readable and carries the
    session's CSRF token; else the error page to answer (400, 403)."""
    if request.method != "POST":
        return None
    form = await _form(request)
    if form is None:
        return error_page(request, 400, "Bad request", "The form could not be read.")
    request[FORM] = form
    if not csrf_ok(session, form.get("csrf")):
        return error_page(
            request,
            403,
            "Refused",
            "The form's CSRF token is missing or wrong; reload the page and try again.",
        )
    return None


def in_zone(text: str, zone: ZoneInfo) -> str:
    """A time as the API reads it: one typed without an offset (a datetime-local
    field) is in the client's zone; anything else goes to the API's reading as typed."""
    try:
        when = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return text  # web.params names it
    return (when if when.tzinfo is not None else when.replace(tzinfo=zone)).isoformat()


def moment(values: Mapping[str, Any], name: str, zone: ZoneInfo) -> datetime | None:
    """A page's time filter, read and bounded as the API reads its (``instant_of``)."""
    text = str(values.get(name) or "").strip()
    return instant_of({name: in_zone(text, zone)}, name) if text else None


def open_page(view: View) -> View:
    """A page without a session (sign-in): an anonymous session holds its CSRF token."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        sessions = request.app[CONSOLE].sessions
        session = sessions.read(request)
        fresh = session is None
        request[SESSION] = session if session is not None else new_session()
        refused = await _posted_form(request, session)
        if refused is not None:
            return refused
        response = await answered(request, view)
        if fresh and SESSION in request and not response.cookies:
            sessions.write(request, response, request[SESSION])
        return response

    return guarded


async def answered(request: web.Request, view: View) -> web.StreamResponse:
    try:
        response = await view(request)
    except web.HTTPNotFound:
        return error_page(request, 404, "Not found", "There is no such page for this client.")
    except BadParameter as exc:
        return error_page(request, 400, "Bad request", exc.message)  # "name: what is wrong"
    except StorageUnavailable:
        return error_page(
            request,
            503,
            "Database unavailable",
            "The database does not answer; try again in a moment.",
        )
    except web.HTTPException as exc:
        return error_page(request, exc.status, exc.reason, exc.reason)
    except Exception:
        log.exception(
            "console page failed", extra={"fields": {"requestId": request.get(REQUEST_ID, "")}}
        )
        return error_page(
            request,
            500,
            "Something went wrong",
            f"The page failed; requestId {request.get(REQUEST_ID, '')}.",
        )
    return secured(response)
