"""The POST route of the envelope paths: HTTP in, Engine, HTTP out, observed."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from flowhooks.envelope import error
from flowhooks.errors import BodyTimeout
from flowhooks.methods.engine import Engine, Outcome, RawRequest
from flowhooks.request_ids import new_request_id
from flowhooks.web.edge import BodyRefused, Observer, Route, read_body

JSON = "application/json"


Tracer = Callable[[Outcome, str, float, bytes, bytes | None], None]


def envelope_route(engine: Engine, observer: Observer, tracer: Tracer | None = None) -> Route:
    """``tracer`` (the traces recorder's ``add``) gets every answer after it is built."""
    limit = engine.settings.server.max_body_bytes
    timeout = engine.settings.server.body_timeout_seconds

    async def envelope(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        headers = request.headers
        request_id = new_request_id(headers.get("X-Request-Id"))
        body: bytes | None = None
        try:
            try:
                body = await read_body(request, limit, timeout)
            except BodyTimeout as exc:
                answer = error("", request_id, 408, exc.code, exc.message)
                outcome = Outcome(answer, "unknown", exc.code)
            except BodyRefused as exc:
                answer = error("", request_id, exc.status, exc.code, exc.message)
                outcome = Outcome(answer, "unknown", exc.code)
            else:
                raw = RawRequest(
                    body,
                    headers.get("Content-Type", ""),
                    headers.get("Authorization"),
                    headers.get("X-Flowhooks-Now"),
                    request_id,
                )
                outcome = await engine.answer(raw)
        except Exception as exc:  # a client gone mid-body (499); the engine never raises
            return observer.failed(request, request_id, started, exc)
        answer = outcome.answer
        status = answer.body["status"]
        wire = answer.dumps()
        response = web.Response(
            body=wire,
            status=answer.http_status,
            headers={"Content-Type": JSON, "X-Request-Id": request_id, **(answer.headers or {})},
        )
        logged = (outcome.method, status, outcome.error_code)
        observer.record(request, answer.http_status, request_id, started, logged)
        if tracer is not None:
            tracer(outcome, request_id, time.perf_counter() - started, wire, body)
        return response

    return envelope
