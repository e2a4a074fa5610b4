"""create_app(settings) -> web.Application: routes, their wrapper, resources in cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.abc import AbstractResolver

from flowhooks.clients import Clients
from flowhooks.clock import Clock, clock_from
from flowhooks.console import app as console
from flowhooks.integrations.http import client_session
from flowhooks.integrations.nlu import NLU_BACKENDS
from flowhooks.integrations.translate import TRANSLATORS, Translations
from flowhooks.limits import RequestLimits
from flowhooks.links.service import Links
from flowhooks.logs import AccessLog
from flowhooks.method import Resources
from flowhooks.methods.engine import Engine
from flowhooks.methods.loader import load_registry
from flowhooks.methods.registry import MethodRegistry
from flowhooks.metrics import Metrics
from flowhooks.outbound.service import Outbound
from flowhooks.process import start_storage
from flowhooks.settings import Settings, build_calendars, build_planner, warnings
from flowhooks.traces.recorder import Recorder, TraceCounts
from flowhooks.web import agents as agents_api
from flowhooks.web import callbacks as callbacks_api
from flowhooks.web import deliveries as deliveries_api
from flowhooks.web import keys as appkeys
from flowhooks.web import links as links_api
from flowhooks.web import meta, openapi
from flowhooks.web import outbound as outbound_api
from flowhooks.web import reports as reports_api
from flowhooks.web import traces as traces_api
from flowhooks.web import webhooks as webhooks_api
from flowhooks.web.edge import Observer, Route
from flowhooks.web.envelope_route import envelope_route
from flowhooks.webhooks.service import Endpoints
from flowhooks.workers.runtime import delivery_runtime, outbound_runtime

log = logging.getLogger("flowhooks.app")


CATCH_ALL = "/{tail:.*}"


async def no_route(request: web.Request) -> web.Response:
    """Anything no route takes: 405 with ``Allow`` on a path some route serves with
    other methods, else 404; both as JSON."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical == CATCH_ALL:
            continue
        match, methods = await resource.resolve(request)
        if match is None:
            allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, sorted(allowed - {"*"}))
    raise web.HTTPNotFound()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's one ClientSession, for every outgoing call (dialers, backends)."""
    async with client_session(app.get(appkeys.RESOLVER)) as session:
        app[appkeys.HTTP] = session
        yield


async def _calendars_ctx(app: web.Application) -> AsyncIterator[None]:
    """Warm the holiday tables before the first request, so no request pays for them."""
    app[appkeys.CALENDARS].warm(app[appkeys.CLOCK].now())
    yield


async def _db_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the database, apply migrations, register the config's agents; close at stop."""
    app[appkeys.DB] = storage = await start_storage(app[appkeys.SETTINGS], app[appkeys.CLOCK].now())
    try:
        yield
    finally:
        await storage.close()


async def _traces_ctx(app: web.Application) -> AsyncIterator[None]:
    """The traces writer (``[traces]``); what is queued is written at stop."""
    recorder = app[appkeys.TRACES]
    if not recorder.enabled:
        yield
        return
    await recorder.start(app[appkeys.DB])
    try:
        yield
    finally:
        await recorder.close()


async def _links_ctx(app: web.Application) -> AsyncIterator[None]:
    """Short links; their click counts are flushed each second and at stop."""
    settings = app[appkeys.SETTINGS]
    app[appkeys.LINKS] = links = Links(
        settings.links, settings.server.public_base_url, app[appkeys.DB]
    )
    links.start()
    try:
        yield
    finally:
        await links.close()


async def _outbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbound side; with ``[server] workers``, the dialer and dispatcher too."""
    settings = app[appkeys.SETTINGS]
    app[appkeys.ENDPOINTS] = Endpoints(settings, app[appkeys.DB], app[appkeys.CLOCK])
    app[appkeys.OUTBOUND] = outbound = Outbound(
        settings,
        app[appkeys.DB],
        app[appkeys.CALENDARS],
        build_planner(settings),
        app[appkeys.CLOCK],
    )
    if not settings.server.workers:
        yield
        return
    lag = app[appkeys.METRICS].dispatch_lag.observe
    async with outbound_runtime(
        settings, outbound, app[appkeys.HTTP], app[appkeys.CLOCK], lag
    ) as dispatcher:
        app[appkeys.DISPATCHER] = dispatcher
        yield


async def _deliveries_ctx(app: web.Application) -> AsyncIterator[None]:
    """With ``[server] workers``: the webhook delivery loop and the retention job."""
    settings = app[appkeys.SETTINGS]
    for warning in warnings(settings):
        log.warning(warning)
    if not settings.server.workers:
        yield
        return
    async with delivery_runtime(
        settings,
        app[appkeys.OUTBOUND],
        app[appkeys.HTTP],
        app[appkeys.CLOCK],
        app[appkeys.METRICS].delivery_attempt,
    ) as deliveries:
        app[appkeys.DELIVERIES] = deliveries
        yield


async def _backends_ctx(app: web.Application) -> AsyncIterator[None]:
    """The translator and NLU backends the config chooses, on the shared session."""
    settings, http = app[appkeys.SETTINGS], app[appkeys.HTTP]
    if settings.translate.backend is not None:
        spec = TRANSLATORS.get(settings.translate.backend)
        conf = settings.translate
        built = spec.build(conf.options(), conf.timeout_seconds, http)
        app[appkeys.TRANSLATOR] = Translations(built, conf.cache_size)
    if settings.nlu.backend is not None:
        nlu = NLU_BACKENDS.get(settings.nlu.backend)
        conf_nlu = settings.nlu
        app[appkeys.NLU] = nlu.build(
            conf_nlu.options(), conf_nlu.intent_sets(), conf_nlu.threshold, http
        )
    try:
        yield
    finally:
        for backend in (app.get(appkeys.TRANSLATOR), app.get(appkeys.NLU)):
            if backend is not None:
                await backend.close()


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    """Freeze the registry and hand the started resources to the engine."""
    app[appkeys.REGISTRY].freeze()
    app[appkeys.ENGINE].resources = Resources(
        clients=app[appkeys.CLIENTS],
        calendars=app[appkeys.CALENDARS],
        db=app[appkeys.DB],
        outbound=app[appkeys.OUTBOUND],
        http=app[appkeys.HTTP],
        links=app[appkeys.LINKS],
        bots=app[appkeys.SETTINGS].bots,
        translator=app.get(appkeys.TRANSLATOR),
        nlu=app.get(appkeys.NLU),
        limits=RequestLimits(app[appkeys.DB], app[appkeys.SETTINGS].clients),
        webhooks=app[appkeys.ENDPOINTS],
    )
    yield


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: MethodRegistry | None = None,
    access_log: AccessLog | None = None,
    resolver: AbstractResolver | None = None,
) -> web.Application:
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    registry = registry if registry is not None else load_registry()
    clock = clock or clock_from(settings.testing.clock_start)
    app[appkeys.SETTINGS] = settings
    app[appkeys.REGISTRY] = registry
    app[appkeys.CLOCK] = clock
    if resolver is not None:
        app[appkeys.RESOLVER] = resolver  # tests: DNS answers of their choosing
    app[appkeys.CLIENTS] = clients = Clients(settings.clients)
    app[appkeys.CALENDARS] = build_calendars(settings)
    app[appkeys.METRICS] = metrics = Metrics()
    enabled = logging.getLogger("flowhooks.access").isEnabledFor(logging.INFO)
    app[appkeys.ACCESS_LOG] = access_log = access_log or AccessLog(enabled=enabled)
    app[appkeys.ENGINE] = engine = Engine(registry, settings, clock, clients)
    app[appkeys.OPENAPI] = openapi.build(settings, registry)
    observer = Observer(access_log, metrics)
    app[appkeys.TRACES] = recorder = Recorder(settings, clock)
    metrics.registry.register(TraceCounts(recorder))
    tracer = recorder.add if recorder.enabled else None
    envelope = envelope_route(engine, observer, tracer)  # observes itself: the hot path
    for path in dict.fromkeys(["/webhook", *settings.server.paths]):
        app.router.add_route("POST", path, envelope)
    routes: list[tuple[str, str, Route]] = [
        *meta.ROUTES,
        *agents_api.ROUTES,
        *outbound_api.ROUTES,
        *callbacks_api.ROUTES,
        *deliveries_api.ROUTES,
        *webhooks_api.ROUTES,
        *reports_api.ROUTES,
        *links_api.ROUTES,
        *traces_api.ROUTES,
    ]
    for method, path, handler in dict.fromkeys(routes):
        app.router.add_route(method, path, observer.wrap(handler))
    if settings.console.enabled:
        console.install(app, observer.wrap)
    app.router.add_route("*", CATCH_ALL, observer.wrap(no_route))  # last: JSON 404/405
    for ctx in (
        _http_ctx,
        _calendars_ctx,
        _db_ctx,
        _traces_ctx,
        _links_ctx,
        _outbound_ctx,
        _deliveries_ctx,
        _backends_ctx,
        _engine_ctx,
    ):
        app.cleanup_ctx.append(ctx)  # started in this order, stopped in reverse
    if settings.console.enabled:
        app.cleanup_ctx.append(console.numbers_ctx)  # after the resources it reads
    return app
