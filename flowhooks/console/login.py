"""/console/login, /console/logout and the operator's client picker (/console/client).

One field, ``token``: a client's ``api_token`` opens that client's console,
``[console] admin_token`` the operator's (every client, one at a time). An address
that failed ``SIGNIN_FAILURES`` times in the last minute is answered 429 until the
minute has passed, whatever it sends; failures are counted in the database, so
across processes.
"""

from __future__ import annotations

from aiohttp import web

from flowhooks.console.auth import (
    SIGNIN_FAILURES,
    SIGNIN_WINDOW,
    address_of,
    is_admin_token,
    new_session,
)
from flowhooks.console.pages import (
    CONSOLE,
    FORM,
    SESSION,
    error_page,
    form_of,
    open_page,
    page,
    render,
    see_other,
)
from flowhooks.storage import signins
from flowhooks.web import keys as appkeys

HOME = "/console"


def _next(target: object) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if isinstance(target, str) and target.startswith("/console") and "//" not in target:
        return target
    return HOME


def _form(request: web.Request, status: int = 200, problem: str = "") -> web.Response:
    sessions = request.app[CONSOLE].sessions
    context = {
        "title": "Sign in",
        "next": _next(request.query.get("next") or (request.get(FORM) or {}).get("next")),
        "problem": problem,
        "refused": sessions.refuses,
    }
    return render(request, "login.html", context, status=status)


@open_page
async def show(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    if session.signed_in:
        return see_other(_next(request.query.get("next")))
    return _form(request)


@open_page
async def sign_in(request: web.Request) -> web.StreamResponse:
    app = request.app
    sessions = app[CONSOLE].sessions
    if sessions.refuses:
        return _form(request, 503)
    db, now = app[appkeys.DB], app[appkeys.CLOCK].now()
    address = address_of(request)
    if await signins.failures_since(db, address, now - SIGNIN_WINDOW) >= SIGNIN_FAILURES:
        response = error_page(
            request, 429, "Too many sign-ins", "Too many failed sign-ins; wait a minute."
        )
        response.headers["Retry-After"] = str(int(SIGNIN_WINDOW.total_seconds()))
        return response
    form = form_of(request)
    token = str(form.get("token") or "").strip()
    settings = app[appkeys.SETTINGS]
    if is_admin_token(settings, token):
        client = next((c for c in sorted(settings.clients) if c != "default"), "default")
        session = new_session(client, operator=True)
    else:
        found = app[appkeys.CLIENTS].for_token(token) if token else None
        if found is None:
            await signins.record_failure(db, address, now, now - SIGNIN_WINDOW)
            return _form(request, 401, "That token opens no console.")
        session = new_session(found)
    response = see_other(_next(form.get("next")))
    sessions.write(request, response, session)
    return response


@page
async def confirm_sign_out(request: web.Request) -> web.StreamResponse:
    return render(request, "logout.html", {"title": "Sign out"})


@page
async def sign_out(request: web.Request) -> web.StreamResponse:
    response = see_other("/console/login")
    request.app[CONSOLE].sessions.clear(response)
    return response


@page
async def pick_client(request: web.Request) -> web.StreamResponse:
    """The operator looks at another client."""
    session = request[SESSION]
    form = form_of(request)
    client = form.get("client")
    if not session.operator or client not in request.app[appkeys.SETTINGS].clients:
        return error_page(request, 403, "Refused", "Only the operator picks a client.")
    response = see_other(_next(form.get("next")))
    request.app[CONSOLE].sessions.write(request, response, session.as_client(str(client)))
    return response


ROUTES = [
    ("GET", "/console/login", show),
    ("POST", "/console/login", sign_in),
    ("GET", "/console/logout", confirm_sign_out),
    ("POST", "/console/logout", sign_out),
    ("POST", "/console/client", pick_client),
]
