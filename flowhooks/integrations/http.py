"""The process's one outgoing HTTP session, with the SSRF guard in its connector.

Every outgoing call (dialers, translate and NLU backends, customer webhooks) goes
through one ``aiohttp.ClientSession``. Its connector checks the addresses a host
resolves to *at connect time*, after DNS and after aiohttp's DNS cache, for literal
addresses too: inside ``guarded()`` (the webhook sender) an address that
``webhooks.targets.forbidden`` refuses is dropped, and a host left with none raises
``ForbiddenTarget`` before any socket is opened. A name that resolves to a public
address now and a private one later (DNS rebinding) is checked every time. Backends
the operator configured (dialer, translate, NLU) are not guarded.

``resolver`` is the test seam: a resolver that answers chosen addresses, so tests
never have to connect to a private address to prove a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from flowhooks.webhooks.targets import forbidden

_GUARD: ContextVar[bool] = ContextVar("flowhooks_guard_targets", default=False)


class ForbiddenTarget(aiohttp.ClientError):
    """Every address of the target is one a webhook may not reach."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} resolves only to addresses webhooks may not reach")
        self.host = host


@contextmanager
def guarded(active: bool = True) -> Iterator[None]:
    """Connections opened inside this block are checked against the SSRF rule."""
    token = _GUARD.set(active)
    try:
        yield
    finally:
        _GUARD.reset(token)


class GuardedConnector(aiohttp.TCPConnector):
    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        found: list[ResolveResult] = await super()._resolve_host(host, port, traces=traces)
        if not _GUARD.get():
            return found
        allowed = [r for r in found if not forbidden(r["host"])]
        if not allowed:
            raise ForbiddenTarget(host)
        return allowed


def client_session(resolver: AbstractResolver | None = None) -> aiohttp.ClientSession:
    """The process's session (aiohttp's pool: at most 100 connections at once)."""
    connector = GuardedConnector(resolver=resolver)
    return aiohttp.ClientSession(connector=connector)


class NoAnswer(Exception):
    """A backend gave no usable answer: a timeout, a failed connection, or an answer over
    its size cap (the message says which)."""


class TooLarge(NoAnswer):
    def __init__(self, limit: int) -> None:
        super().__init__(f"answered more than {limit:,} bytes")


async def read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, however many pieces it arrives in; ``TooLarge`` past ``limit``.

    ``StreamReader.read(n)`` returns what has arrived so far, so it is called until the
    end of the body (inside the request's total deadline).
    """
    if resp.content_length is not None and resp.content_length > limit:
        raise TooLarge(limit)
    body = bytearray()
    while piece := await resp.content.read(limit + 1 - len(body)):
        body += piece
        if len(body) > limit:
            raise TooLarge(limit)
    return bytes(body)


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    timeout_s: float,
    limit: int,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST a JSON body to an operator's backend; its status and whole answer (at most
    ``limit`` bytes, else ``TooLarge``), all within ``timeout_s`` in total."""
    headers = {**(headers or {}), "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout) as resp:
            return resp.status, await read_body(resp, limit)
    except TimeoutError:
        raise NoAnswer(f"did not answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise NoAnswer(f"could not be reached ({type(exc).__name__})") from None
