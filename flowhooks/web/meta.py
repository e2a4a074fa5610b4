"""Discovery and operations routes: /methods, /openapi.json, /healthz, /readyz, /metrics."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from flowhooks.errors import StorageUnavailable
from flowhooks.method import Method
from flowhooks.metrics import CONTENT_TYPE
from flowhooks.storage import outbound, outbox
from flowhooks.web import keys as appkeys


def _output_name(name: str) -> str:
    return name if name.startswith("$") else f"$flow.key.{name}"


def describe(handler: Method) -> dict[str, Any]:
    inputs = []
    for name, info in handler.input.model_fields.items():
        inputs.append(
            {
                "name": name,
                "required": info.is_required(),
                "description": info.description or "",
                "example": (info.examples or [""])[0],
            }
        )
    outputs = [
        {"name": _output_name(info.alias or name), "description": info.description or ""}
        for name, info in handler.output.model_fields.items()
    ]
    return {
        "method": handler.method,
        "description": handler.description,
        "inputs": inputs,
        "outputs": outputs,
    }


async def methods(request: web.Request) -> web.Response:
    registry = request.app[appkeys.REGISTRY]
    return web.json_response({"methods": [describe(h) for h in registry.values()]})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[appkeys.OPENAPI])


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readiness(app: web.Application) -> dict[str, dict[str, object]]:
    """Each dependency's state: calendars, the database (with the driver's reason when
    it cannot be used), this process's dispatcher and delivery loop."""
    checks: dict[str, dict[str, object]] = {
        "calendars": {"ok": True, "count": len(app[appkeys.CALENDARS])}
    }
    db = app.get(appkeys.DB)
    if db is not None:
        # within [storage] ping_timeout_seconds; not ok while writes fail too (a full disk)
        reason = await db.check()
        checks["database"] = {"ok": reason is None, "dialect": db.dialect}
        if reason is not None:
            checks["database"]["reason"] = reason
    else:
        checks["database"] = {"ok": False, "detail": "not started"}
    dispatcher = app.get(appkeys.DISPATCHER)
    if dispatcher is not None:
        age = time.monotonic() - dispatcher.alive_at
        limit = max(30.0, app[appkeys.SETTINGS].dialer.poll_seconds * 10)
        checks["dispatcher"] = {"ok": age < limit, "lastTurnSecondsAgo": round(age, 1)}
    deliveries = app.get(appkeys.DELIVERIES)
    if deliveries is not None:
        age = time.monotonic() - deliveries.alive_at
        limit = max(30.0, app[appkeys.SETTINGS].delivery.poll_seconds * 10)
        checks["deliveries"] = {
            "ok": age < limit,
            "lastTurnSecondsAgo": round(age, 1),
            "inFlight": deliveries.in_flight,
            "inFlightToFailing": deliveries.failing_in_flight,
            "backedOff": [_backed_off(h) for h in deliveries.backed_off()[:20]],
        }
    return checks


def _backed_off(h: outbox.EndpointHealth) -> dict[str, object]:
    """An endpoint in back-off, for /readyz (an operator's view: which customer, why)."""
    until = h.backed_off_until
    return {
        "client": h.client,
        "endpoint": h.endpoint,
        "failures": h.failures,
        "until": until.isoformat() if until else None,
        "lastError": h.last_error,
    }


async def readyz(request: web.Request) -> web.Response:
    checks = await readiness(request.app)
    ready = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    db, registry = request.app.get(appkeys.DB), request.app[appkeys.METRICS]
    if db is not None:
        try:
            registry.set_depths(await outbound.depth(db, request.app[appkeys.CLOCK].now()))
            registry.set_outbox(await outbox.depth(db))
            clock = request.app[appkeys.CLOCK]
            registry.set_endpoints(await outbox.endpoint_counts(db, clock.now()))
        except StorageUnavailable:
            pass  # /readyz reports the database; the rest of the metrics still answer
    body = registry.render()
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = CONTENT_TYPE
    return resp


ROUTES = [
    ("GET", "/methods", methods),
    ("GET", "/openapi.json", openapi),
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
    ("GET", "/metrics", metrics),
]
