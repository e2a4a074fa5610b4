"""The console's place in the app: its pages' routes, templates, static files, and the
loop that writes the numbers its home page charts.

Each page is a module of this package with ``ROUTES`` and, when it has a place in the
navigation, ``NAV``; adding a page is one module and one line in ``PAGES``.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from flowhooks.console import (
    agents,
    calendars,
    calls,
    deliveries,
    home,
    links,
    login,
    playground,
    reports,
    traces,
    webhooks,
)
from flowhooks.console.auth import Sessions
from flowhooks.console.pages import CONSOLE, SECURITY_HEADERS, Console, NavEntry, when
from flowhooks.settings import console_warnings
from flowhooks.web import keys as appkeys
from flowhooks.web.edge import Route
from flowhooks.workers.stats import stats_runtime

log = logging.getLogger("flowhooks.console")
HERE = Path(__file__).parent
# in the navigation's order
PAGES = (home, playground, traces, calls, webhooks, deliveries, links, reports, agents, calendars)


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file of static/, read once at start (a few tens of KB)."""
    found = {}
    for path in sorted((HERE / "static").iterdir()):
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        found[path.name] = (path.read_bytes(), kind)
    return found


def static_route(files: dict[str, tuple[bytes, str]]) -> Route:
    async def static(request: web.Request) -> web.Response:
        """A vendored static file of the console (htmx, its stylesheet and script)."""
        found = files.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="no such file", headers=SECURITY_HEADERS)
        body, kind = found
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
        return web.Response(body=body, content_type=None, headers={"Content-Type": kind, **headers})

    return static


async def to_console(request: web.Request) -> web.Response:
    """The root: to the console."""
    return web.Response(status=302, headers={"Location": "/console"})


async def numbers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The loop writing the home page's numbers; warnings about sessions at start."""
    settings = app[appkeys.SETTINGS]
    for warning in console_warnings(settings):
        log.warning(warning)
    async with stats_runtime(
        app[appkeys.DB],
        app[appkeys.METRICS].stats,
        app[appkeys.CLOCK],
        settings.console.stats_seconds,
    ):
        yield


def install(app: web.Application, wrap: Callable[[Route], Route]) -> None:
    """Add the console's routes (each wrapped by ``wrap``) and templates; the app adds
    ``numbers_ctx`` after the resources it reads."""
    settings = app[appkeys.SETTINGS]
    app[CONSOLE] = Console(
        Sessions(settings, app[appkeys.CLOCK]),
        [NavEntry(*m.NAV) for m in PAGES if hasattr(m, "NAV")],
    )
    app[home.TRACED_HOURS] = home.TracedHours()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
        filters={"when": when},
    )
    for method, path, handler in routes(static_route(_static_files())):
        app.router.add_route(method, path, wrap(handler))


def routes(static: Route) -> list[tuple[str, str, Route]]:
    """Every route of the console (the OpenAPI document lists them too)."""
    found: list[tuple[str, str, Route]] = [
        ("GET", "/", to_console),
        ("GET", "/console/static/{name}", static),
        *login.ROUTES,
    ]
    for module in PAGES:
        found += module.ROUTES
    return found
