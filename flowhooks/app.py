"""create_app(settings) -> web.Application: routes, their wrapper, resources in cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from flowhooks import appkeys, openapi
from flowhooks.api import agents as agents_api
from flowhooks.api import callbacks as callbacks_api
from flowhooks.api import meta
from flowhooks.api import outbound as outbound_api
from flowhooks.clock import Clock, clock_from
from flowhooks.dispatch.engine import Engine
from flowhooks.dispatch.loader import load_registry
from flowhooks.dispatch.registry import MethodRegistry
from flowhooks.dispatch.view import envelope_route
from flowhooks.logs import AccessLog
from flowhooks.metrics import Metrics
from flowhooks.observe import Handler, Observer
from flowhooks.services import Services
from flowhooks.settings import Settings
from flowhooks.startup import outbound_runtime, start_storage

STATIC_GETS = ("/methods", "/openapi.json", "/healthz", "/readyz", "/metrics")


async def no_route(request: web.Request) -> web.Response:
    """Anything no route takes: 405 on a known path, else 404, both as JSON."""
    known = [*request.app[appkeys.SETTINGS].server.paths, "/webhook", *STATIC_GETS]
    if request.path in known:
        raise web.HTTPMethodNotAllowed(
            request.method, ["POST" if request.path not in STATIC_GETS else "GET"]
        )
    raise web.HTTPNotFound()


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Freeze the registry and warm the holiday tables before the first request."""
    app[appkeys.REGISTRY].freeze()
    app[appkeys.SERVICES].warm(app[appkeys.CLOCK].now())
    yield


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the database, apply migrations, register the config's agents; close at stop."""
    services = app[appkeys.SERVICES]
    services.storage = await start_storage(app[appkeys.SETTINGS], app[appkeys.CLOCK].now())
    try:
        yield
    finally:
        await services.storage.close()
        services.storage = None


async def _outbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """The dialer and dispatcher, when this process runs the workers ([server] workers)."""
    if not app[appkeys.SETTINGS].server.workers:
        yield
        return
    metrics = app[appkeys.METRICS]
    async with outbound_runtime(
        app[appkeys.SERVICES], app[appkeys.CLOCK], metrics.dispatch_lag.observe
    ):
        yield


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: MethodRegistry | None = None,
    access_log: AccessLog | None = None,
) -> web.Application:
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    registry = registry if registry is not None else load_registry()
    services = Services.from_settings(settings)
    clock = clock or clock_from(settings.testing.clock_start)
    app[appkeys.SETTINGS] = settings
    app[appkeys.REGISTRY] = registry
    app[appkeys.SERVICES] = services
    app[appkeys.CLOCK] = clock
    app[appkeys.METRICS] = metrics = Metrics()
    enabled = logging.getLogger("flowhooks.access").isEnabledFor(logging.INFO)
    app[appkeys.ACCESS_LOG] = access_log = access_log or AccessLog(enabled=enabled)
    app[appkeys.ENGINE] = engine = Engine(registry, settings, services, clock)
    app[appkeys.OPENAPI] = openapi.build(settings, registry)
    observer = Observer(access_log, metrics)
    envelope = envelope_route(engine, observer)  # observes itself: the hot path
    for path in dict.fromkeys(["/webhook", *settings.server.paths]):
        app.router.add_route("POST", path, envelope)
    routes: list[tuple[str, str, Handler]] = [
        *meta.ROUTES,
        *agents_api.ROUTES,
        *outbound_api.ROUTES,
        *callbacks_api.ROUTES,
    ]
    for method, path, handler in dict.fromkeys(routes):
        app.router.add_route(method, path, observer.wrap(handler))
    app.router.add_route("*", "/{tail:.*}", observer.wrap(no_route))  # last: JSON 404/405
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_services_ctx)
    app.cleanup_ctx.append(_outbound_ctx)
    return app
