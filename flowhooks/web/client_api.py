"""What the /api/v1 routes share: the client's bearer token, the ``{"error"}`` shape."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from flowhooks.errors import InvalidBody
from flowhooks.texts import has_control
from flowhooks.web import keys as appkeys
from flowhooks.web.edge import read_body

CLIENT = web.RequestKey("api_client", str)


def problem(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def client_of(request: web.Request) -> str | None:
    """The client whose api_token is the bearer token of this request."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return request.app[appkeys.CLIENTS].for_token(token.strip())


View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def client_api(view: View) -> View:
    """An /api/v1 view: needs a client's api_token; domain errors become JSON answers."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        client = client_of(request)
        if client is None:
            resp = problem(401, "UNAUTHORIZED", "a client's api_token is required as Bearer token")
            resp.headers["WWW-Authenticate"] = "Bearer"
            return resp
        request[CLIENT] = client
        return await view(request)  # domain errors become answers at the edge (edge.py)

    return guarded


async def body_bytes(request: web.Request) -> bytes:
    """The body within ``[server]`` max_body_bytes and body_timeout_seconds."""
    server = request.app[appkeys.SETTINGS].server
    return await read_body(request, server.max_body_bytes, server.body_timeout_seconds)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await body_bytes(request))
    except ValueError:
        raise web.HTTPBadRequest(reason="body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="body must be a JSON object")
    for key, value in body.items():
        if isinstance(value, str) and has_control(value):
            raise InvalidBody(f"{key}: holds a control character")
    return body


def text_field(body: dict[str, Any], key: str, max_chars: int) -> str:
    """A required text of a REST body: stripped, 1 to ``max_chars`` characters."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidBody(f"{key}: missing or empty")
    if len(value.strip()) > max_chars:
        raise InvalidBody(f"{key}: longer than {max_chars} characters")
    return value.strip()
