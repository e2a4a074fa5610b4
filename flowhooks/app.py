"""create_app(settings) -> web.Application: routes, their wrapper, resources in cleanup_ctx."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from flowhooks import appkeys, openapi
from flowhooks.api import agents as agents_api
from flowhooks.api import callbacks as callbacks_api
from flowhooks.api import meta
from flowhooks.api import outbound as outbound_api
from flowhooks.clock import Clock, SystemClock
from flowhooks.dispatch.engine import Engine, new_request_id
from flowhooks.dispatch.loader import load_registry
from flowhooks.dispatch.registry import MethodRegistry
from flowhooks.dispatch.view import LOG_FIELDS, REQUEST_ID, envelope_view
from flowhooks.envelope import error
from flowhooks.logs import AccessLog
from flowhooks.metrics import Metrics
from flowhooks.services import Services
from flowhooks.settings import Settings
from flowhooks.startup import outbound_runtime, start_storage

log = logging.getLogger("flowhooks.app")
STATIC_GETS = ("/methods", "/openapi.json", "/healthz", "/readyz", "/metrics")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def observed(handler: Handler) -> Handler:
    """Around every route: request id, JSON errors, one access-log line, metrics.

    A wrapper rather than a middleware: aiohttp's middleware chain alone cost ~9 % of
    a bare endpoint's throughput (bench/README.md).
    """

    async def observe(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = new_request_id(request.headers.get("X-Request-Id"))
        request[REQUEST_ID] = request_id
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            code = exc.reason.upper().replace(" ", "_")
            response = web.json_response(
                error("", request_id, exc.status, code, exc.reason).body, status=exc.status
            )
        except Exception:
            log.exception("unhandled error", extra={"fields": {"requestId": request_id}})
            body = error("", request_id, 500, "INTERNAL", f"internal error; requestId {request_id}")
            response = web.json_response(body.body, status=500)
        elapsed = time.perf_counter() - started
        fields = {
            "requestId": request_id,
            "http": f"{request.method} {request.path}",
            "httpStatus": response.status,
            "latencyMs": round(elapsed * 1000, 3),
        }
        envelope_fields = request.get(LOG_FIELDS)
        if envelope_fields is not None:
            fields.update(envelope_fields)
            request.app[appkeys.METRICS].observe(
                envelope_fields["method"], response.status, envelope_fields["status"], elapsed
            )
        request.app[appkeys.ACCESS_LOG].write(fields)
        response.headers.setdefault("X-Request-Id", request_id)
        return response

    return observe


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
    clock = clock or SystemClock()
    app[appkeys.SETTINGS] = settings
    app[appkeys.REGISTRY] = registry
    app[appkeys.SERVICES] = services
    app[appkeys.CLOCK] = clock
    app[appkeys.METRICS] = Metrics()
    enabled = logging.getLogger("flowhooks.access").isEnabledFor(logging.INFO)
    app[appkeys.ACCESS_LOG] = access_log or AccessLog(enabled=enabled)
    app[appkeys.ENGINE] = Engine(registry, settings, services, clock)
    app[appkeys.OPENAPI] = openapi.build(settings, registry)
    routes: list[tuple[str, str, Handler]] = [
        *(("POST", path, envelope_view) for path in ["/webhook", *settings.server.paths]),
        *meta.ROUTES,
        *agents_api.ROUTES,
        *outbound_api.ROUTES,
        *callbacks_api.ROUTES,
    ]
    for method, path, handler in dict.fromkeys(routes):
        app.router.add_route(method, path, observed(handler))
    app.router.add_route("*", "/{tail:.*}", observed(no_route))  # last: JSON 404/405
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_services_ctx)
    app.cleanup_ctx.append(_outbound_ctx)
    return app
