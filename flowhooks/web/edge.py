"""Around every route: request id, JSON errors, one access-log line, request metrics.

``Observer.wrap`` puts this around an ordinary route. The envelope route (the hot
path: a caller is waiting) calls ``record``/``failed`` itself, so it reads the
headers once and passes what the log needs as values instead of through the
request's mapping. A wrapper, not an aiohttp middleware: the middleware chain alone
cost ~9 % of a bare endpoint's throughput (bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from flowhooks.envelope import error
from flowhooks.errors import BodyTimeout, InvalidBody, StorageUnavailable
from flowhooks.logs import AccessLog
from flowhooks.metrics import Metrics
from flowhooks.phones import NumberRefused
from flowhooks.request_ids import new_request_id
from flowhooks.storage.endpoints import TooMany
from flowhooks.vault import VaultUnavailable
from flowhooks.web.params import BadParameter
from flowhooks.webhooks.endpoints import FieldProblem

log = logging.getLogger("flowhooks.app")
_DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    StorageUnavailable: (503, "STORAGE_UNAVAILABLE"),
    NumberRefused: (422, "INVALID_NUMBER"),
    InvalidBody: (422, "INVALID_BODY"),
    BodyTimeout: (408, "TIMEOUT"),
    BadParameter: (400, "BAD_PARAMETER"),
    FieldProblem: (422, "INVALID_BODY"),  # a webhook's field (issue 25), named in "field"
    TooMany: (409, "LIMIT_REACHED"),
    VaultUnavailable: (503, "SECRET_KEY_MISSING"),
}
CLIENT_GONE = 499  # nginx's code for a client that closed the connection mid-request
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("request_id", str)


# what aiohttp's parser decodes here (brotli and zstd are not installed), and no encoding
ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


class BodyRefused(Exception):
    """A body ``read_body`` will not hand over, answered ``status`` ``code`` on every route
    (the envelope's shape on the envelope paths, ``{"error"}`` on the others)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, "TOO_LARGE", f"body is larger than {limit} bytes")


async def read_body(request: web.BaseRequest, limit: int, timeout: float) -> bytes:
    """The whole body, at most ``limit`` bytes once decoded, within ``timeout`` seconds
    (BodyTimeout); when it has all arrived (the usual case), without a wait.

    Every route reads its body here: a Content-Encoding other than gzip, deflate or
    identity is a 415 and a body that does not decode as its encoding (or a broken
    chunked framing) a 400, over ``limit`` before or after decoding a 413 ``BodyRefused``.
    """
    encoding = request.headers.get("Content-Encoding")
    if encoding is not None and encoding.strip().lower() not in ENCODINGS:
        message = "Content-Encoding must be gzip, deflate or identity"
        raise BodyRefused(415, "UNSUPPORTED_MEDIA_TYPE", message)
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    content = request.content
    try:
        if length is not None and content.is_eof():
            body = content.read_nowait()
        else:
            async with asyncio.timeout(timeout):
                body = await request.read()
    except TimeoutError:
        raise BodyTimeout(timeout) from None
    except web.HTTPRequestEntityTooLarge:  # aiohttp's client_max_size, the same limit
        raise _too_large(limit) from None
    except RequestPayloadError:
        what = f"its Content-Encoding ({encoding.strip()})" if encoding else "its framing"
        raise BodyRefused(400, "BAD_REQUEST", f"the body does not decode as {what}") from None
    if len(body) > limit:  # a small compressed body may decode to a large one
        raise _too_large(limit)
    return body


class Observer:
    """One app's access log and request metrics."""

    __slots__ = ("access_log", "observe")

    def __init__(self, access_log: AccessLog, metrics: Metrics) -> None:
        self.access_log = access_log
        self.observe = metrics.observe

    def record(
        self,
        request: web.BaseRequest,
        http_status: int,
        request_id: str,
        started: float,
        envelope: tuple[str, str, str] | None = None,
    ) -> None:
        """The access line; for an envelope (method, status, errorCode), its metrics too."""
        elapsed = time.perf_counter() - started
        fields = {
            "requestId": request_id,
            "http": f"{request.method} {request.path}",
            "httpStatus": http_status,
            "latencyMs": round(elapsed * 1000, 3),
        }
        if envelope is not None:
            method, status, error_code = envelope
            fields["method"] = method
            fields["status"] = status
            fields["errorCode"] = error_code
            self.observe(method, http_status, status, elapsed)
        self.access_log.write(fields)

    def failed(
        self, request: web.BaseRequest, request_id: str, started: float, exc: Exception
    ) -> web.Response:
        """What a route raised, as a JSON answer; the one place an exception becomes one.

        The database down is a 503 and a number that is not one a 422, both in the REST
        routes' ``{"error": ...}`` shape; an HTTP error keeps its status; anything else
        is a 500 without a stack.
        """
        domain = _DOMAIN_ERRORS.get(type(exc))
        if isinstance(exc, BodyRefused):
            domain = (exc.status, exc.code)
        if domain is not None:
            status, code = domain
            code = getattr(exc, "code", None) or code
            message = getattr(exc, "message", None) or str(exc)
            body = {"error": {"code": code, "message": message, "requestId": request_id}}
            if isinstance(exc, BadParameter):
                body["error"]["parameter"] = exc.name
            elif isinstance(exc, FieldProblem):
                body["error"]["field"] = exc.field
            response = web.json_response(body, status=status, headers={"X-Request-Id": request_id})
            self.record(request, status, request_id, started)
            return response
        if isinstance(exc, ConnectionResetError):  # the client left mid-body: no one to answer
            log.warning(
                "client closed the connection mid-request",
                extra={
                    "fields": {"requestId": request_id, "http": f"{request.method} {request.path}"}
                },
            )
            self.record(request, CLIENT_GONE, request_id, started)
            return web.Response(status=CLIENT_GONE)
        if isinstance(exc, web.HTTPException):
            code = exc.reason.upper().replace(" ", "_")
            answer = error("", request_id, exc.status, code, exc.reason)
        else:
            log.exception("unhandled error", extra={"fields": {"requestId": request_id}})
            message = f"internal error; requestId {request_id}"
            answer = error("", request_id, 500, "INTERNAL", message)
        headers = {"X-Request-Id": request_id}
        if isinstance(exc, web.HTTPMethodNotAllowed):
            headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        response = web.json_response(answer.body, status=answer.http_status, headers=headers)
        self.record(request, response.status, request_id, started)
        return response

    def wrap(self, handler: Route) -> Route:
        async def observed(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            request_id = new_request_id(request.headers.get("X-Request-Id"))
            request[REQUEST_ID] = request_id
            try:
                response = await handler(request)
            except Exception as exc:
                return self.failed(request, request_id, started, exc)
            response.headers.setdefault("X-Request-Id", request_id)
            self.record(request, response.status, request_id, started)
            return response

        return observed
