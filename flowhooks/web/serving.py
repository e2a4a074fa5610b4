"""Serving the app on a socket, bounded against slow and idle clients ([server] limits).

aiohttp's own server bounds an idle connection (``keepalive_timeout``, also armed when
a connection opens) but not a connection that trickles its request head, nor how many
connections are open. ``ConnectionGuard`` wraps aiohttp's protocol factory and adds:

* a header deadline: a connection's first request head must be complete within
  ``header_timeout_seconds`` of the connection opening, else it is answered 408 in the
  JSON shape and closed (later heads on a kept-alive connection are bounded by
  ``keepalive_timeout_seconds``, which aiohttp enforces);
* a cap on open connections: one over ``max_connections`` is answered 503 and closed at
  once, so idle sockets never exhaust the process's file descriptors.

Requests aiohttp cannot parse (a control byte in a header, a bad request line, a
Content-Encoding it cannot decode) are answered in the JSON shape by ``JsonErrorHandler``
instead of aiohttp's text/plain, and without echoing what was sent. Anyone can send
them, so they are counted (``flowhooks_malformed_requests_total``) and logged at INFO,
not as aiohttp's ERROR lines; a failure of ours stays an ERROR. It is built with the
arguments the runner gave aiohttp's server (``Server._kwargs``, private: aiohttp is pinned
in the lock, and the serving tests fail if that changes).

The body deadline is the routes' (``edge.read_body``): it answers 408 TIMEOUT.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
import time
from collections.abc import Callable
from typing import Any, cast

import orjson
from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from flowhooks.envelope import error
from flowhooks.request_ids import new_request_id
from flowhooks.settings import ServerSettings
from flowhooks.web import keys as appkeys

log = logging.getLogger("flowhooks.server")
HEAD_END = b"\r\n\r\n"
FD_RESERVE = 256  # descriptors kept for the database, outbound HTTP and logs
# after an answer sent before its body arrived (413, 408), the rest is read and dropped
# this long so the client sees the answer, then the connection closes (aiohttp: 10 s)
LINGER_SECONDS = 1.0


def _canned(status: int, reason: str, code: str, message: str) -> bytes:
    answer = error("", new_request_id(), status, code, message)
    body = orjson.dumps(answer.body)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


# what a client's malformed HTTP raises inside aiohttp (a parse error, a body that does not
# decode): never a failure of ours
CLIENT_ERRORS = (HttpProcessingError, RequestPayloadError)


def _ignore(error: str) -> None: ...


class JsonErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering what it cannot parse in the JSON shape."""

    malformed: Callable[[str], None] = _ignore  # counts a client's malformed request

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if isinstance(exc, CLIENT_ERRORS):  # anyone can send it: counted, not an ERROR
            self.malformed(type(exc).__name__)
            self.logger.info(*args, **kw)
        else:
            super().log_exception(*args, **kw)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs it (filtered), or raises
        if status >= 500:
            code, text = "INTERNAL", "internal error"
        elif isinstance(exc, ContentEncodingError):  # an encoding aiohttp cannot decode here
            status = 415
            code, text = (
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Encoding must be gzip, deflate or identity",
            )
        else:
            code, text = "BAD_REQUEST", "the request line or a header is malformed"
        answer = error("", new_request_id(), status, code, text)
        response = web.json_response(answer.body, status=status)
        response.force_close()
        return response


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's handler inside, the header deadline around it."""

    __slots__ = ("_counted", "_guard", "_inner", "_tail", "_timer", "_transport")

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._inner: Any = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, for a head end split across reads
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        guard = self._guard
        self._transport = transport = cast(asyncio.Transport, transport)  # uvloop's is not one
        if guard.open >= guard.max_connections:
            guard.refused += 1
            transport.write(guard.busy)
            transport.close()
            return
        guard.open += 1
        self._counted = True
        self._inner = guard.handler()
        self._inner.connection_made(transport)
        if guard.header_timeout > 0:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(guard.header_timeout, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._guard.timed_out += 1
            transport.write(self._guard.slow)
            transport.close()

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            if HEAD_END in self._tail + data:
                self._timer.cancel()
                self._timer = None
            else:
                self._tail = (self._tail + data)[-3:]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._counted:
            self._guard.open -= 1
            self._counted = False
        if self._inner is not None:
            self._inner.connection_lost(exc)


class ConnectionGuard:
    """The protocol factory the socket serves: aiohttp's, guarded (see the module)."""

    def __init__(
        self,
        server: Server,
        header_timeout: float,
        max_connections: int,
        malformed: Callable[[str], None] = _ignore,
    ) -> None:
        self.server = server
        self.malformed = malformed
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self.timed_out = 0
        self.slow = _canned(
            408, "Request Timeout", "TIMEOUT", "the request head did not arrive in time"
        )
        self.busy = _canned(
            503, "Service Unavailable", "BUSY", "too many open connections; try again"
        )

    def handler(self) -> RequestHandler:
        loop = asyncio.get_running_loop()
        handler = JsonErrorHandler(self.server, loop=loop, **self.server._kwargs)
        handler.malformed = self.malformed
        return handler

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)


def descriptor_budget(max_connections: int) -> int:
    """Raise the soft descriptor limit toward the hard one; the connections it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max_connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # pragma: no cover - a container may forbid it
            pass
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - FD_RESERVE))


class Serving:
    """The app listening on (host, port) until ``close``."""

    def __init__(
        self, app: web.Application, conf: ServerSettings, drain_seconds: float = 0.0
    ) -> None:
        """``drain_seconds`` > 0 when several processes share the port (see ``close``)."""
        self.app = app
        self.conf = conf
        self.runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=conf.keepalive_timeout_seconds,
            lingering_time=LINGER_SECONDS,
        )
        self.guard: ConnectionGuard | None = None
        self._server: asyncio.base_events.Server | None = None
        self.drain_seconds = drain_seconds
        self.draining = False
        if drain_seconds > 0:  # a hook on every answer only where it can matter
            app.on_response_prepare.append(self._last_on_connection)

    async def start(self, host: str, port: int, sock: socket.socket | None = None) -> int:
        """Listen; returns the port (useful when ``port`` is 0)."""
        await self.runner.setup()
        assert self.runner.server is not None
        limit = descriptor_budget(self.conf.max_connections)
        if limit < self.conf.max_connections:
            log.warning(
                "max_connections lowered to the descriptors this process may open",
                extra={"fields": {"maxConnections": limit}},
            )
        self.guard = ConnectionGuard(
            self.runner.server,
            self.conf.header_timeout_seconds,
            limit,
            self.app[appkeys.METRICS].malformed_request,
        )
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(self.guard, sock=sock)
        else:
            self._server = await loop.create_server(
                self.guard, host, port, reuse_address=True, backlog=1024
            )
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def _last_on_connection(self, request: web.Request, response: web.StreamResponse) -> None:
        if self.draining:  # the client reconnects, to another process
            response.force_close()
            response.headers["Connection"] = "close"  # (aiohttp set it before this hook)

    async def close(self) -> None:
        """Stop listening; with ``drain_seconds`` (several processes share the port), the
        answers meanwhile close their kept-alive connections, so a client's next request
        opens a connection to another process instead of racing this one's close."""
        if self._server is not None:
            self._server.close()
        if self.drain_seconds > 0 and self.runner.server is not None:
            self.draining = True
            deadline = time.monotonic() + self.drain_seconds
            while self.runner.server.connections and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        await self.runner.cleanup()  # the app's shutdown, then its connections, then cleanup


async def serve_until_signalled(
    app: web.Application, conf: ServerSettings, host: str, port: int
) -> None:
    """``flowhooks serve``: listen until SIGINT or SIGTERM, then stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = Serving(app, conf)
    await serving.start(host, port)
    try:
        await stop.wait()
    finally:
        await serving.close()
