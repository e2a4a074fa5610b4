"""The POST view of the envelope paths: HTTP in, Engine, HTTP out."""

from __future__ import annotations

from aiohttp import web

from flowhooks import appkeys
from flowhooks.dispatch.engine import RawRequest
from flowhooks.envelope import Answer, error

REQUEST_ID = web.RequestKey("request_id", str)
LOG_FIELDS = web.RequestKey("log_fields", dict[str, str])


def json_response(answer: Answer, request_id: str) -> web.Response:
    return web.Response(
        body=answer.dumps(),
        status=answer.http_status,
        content_type="application/json",
        headers={"X-Request-Id": request_id},
    )


async def envelope_view(request: web.Request) -> web.Response:
    request_id = request[REQUEST_ID]
    engine = request.app[appkeys.ENGINE]
    limit = engine.settings.server.max_body_bytes
    try:
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        answer = error("", request_id, 413, "TOO_LARGE", f"body is larger than {limit} bytes")
        request[LOG_FIELDS] = {"method": "unknown", "status": "FAILED", "errorCode": "TOO_LARGE"}
        return json_response(answer, request_id)
    raw = RawRequest(
        body=body,
        content_type=request.headers.get("Content-Type", ""),
        authorization=request.headers.get("Authorization"),
        now_header=request.headers.get("X-Flowhooks-Now"),
        request_id=request_id,
    )
    outcome = await engine.answer(raw)
    request[LOG_FIELDS] = {
        "method": outcome.method,
        "status": outcome.answer.body["status"],
        "errorCode": outcome.error_code,
    }
    return json_response(outcome.answer, request_id)
