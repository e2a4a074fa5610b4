"""The ``startcall`` dialer: an HTTP call API behind OAuth2 client-credentials tokens.

Token: ``POST token_url`` (form: client_id, client_secret, grant_type=client_credentials,
scope=openid) -> ``{"access_token", "expires_in"}``; reused until 30 s before it
expires, fetched again once when the call API answers 401. Call:
``POST call_url`` with ``{"originate", "destination", "email"}`` and the bearer token.

Deadlines: each request (token or call) has a total deadline of ``timeout_seconds``,
however slowly the other side trickles, and a dial as a whole returns within
``DialRequest.within_seconds``. One token fetch runs at a time; every dial that needs
it waits for that one, never for a queue of them; while the old token still works a
refresh runs in the background and no dial waits for it.

What counts as an attempt: a call request whose body aiohttp never began to write (no
token, no connection, every connection busy, out of time before sending) did not reach
the call API: ``NotSent``, re-sent later without using an attempt. Once the body may
be on the wire the provider may act on it, so a request with no answer is ``Unknown``
(an attempt used, never re-sent at once). A 2xx is the provider's yes, even when the
body with its id does not arrive whole.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import BytesPayload
from pydantic import Field, SecretStr

from flowhooks.integrations.dialer import DialerBackend, StatusSink
from flowhooks.integrations.http import TooLarge, read_body
from flowhooks.outbound.model import Accepted, DialRequest, DialResult, NotSent, Unknown
from flowhooks.plugins import BackendSettings

REFRESH_MARGIN_S = 30.0
_ID_FIELDS = ("callId", "call_id", "id", "uuid")
_FAILED = (aiohttp.ClientError, TimeoutError, ValueError)  # what a request may end in
MAX_ANSWER_BYTES = 64 * 1024  # of a token or call answer read (they are a few hundred)


class StartcallDialerSettings(BackendSettings):
    """``[dialer.startcall]``."""

    token_url: str = "http://127.0.0.1:9/token"
    call_url: str = "http://127.0.0.1:9/api/startcall"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    originate: str = ""
    timeout_seconds: float = Field(5.0, gt=0, le=60)


class TokenError(Exception):
    pass


class _Body(BytesPayload):
    """A request body that notes when aiohttp begins to write it: from then on the
    request may have reached the other side."""

    sending = False

    async def write(self, writer: AbstractStreamWriter) -> None:
        self.sending = True
        await super().write(writer)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        self.sending = True
        await super().write_with_length(writer, content_length)


class StartcallDialer:
    name = "startcall"

    def __init__(self, conf: StartcallDialerSettings, session: aiohttp.ClientSession) -> None:
        self.conf = conf
        self.session = session
        self._token: str | None = None
        self._expires = 0.0
        self._fetching: asyncio.Task[str] | None = None  # the one token fetch under way

    async def token(self, rejected: str | None = None) -> str:
        """A valid access token. ``rejected``: the one the call API just refused."""
        left = self._expires - time.monotonic()
        if self._token is not None and self._token != rejected and left > 0:
            if left < REFRESH_MARGIN_S:
                self._fetch()  # in the background: this one still works meanwhile
            return self._token
        return await asyncio.shield(self._fetch())  # a dial that gives up leaves it running

    def _fetch(self) -> asyncio.Task[str]:
        """The token fetch under way, or a new one."""
        if self._fetching is None:
            self._fetching = asyncio.create_task(self._fetch_token())
            self._fetching.add_done_callback(self._fetched)
        return self._fetching

    def _fetched(self, task: asyncio.Task[str]) -> None:
        self._fetching = None
        if not task.cancelled():
            task.exception()  # a background refresh's failure: the next dial tries again

    async def _fetch_token(self) -> str:
        form = {
            "client_id": self.conf.client_id,
            "client_secret": self.conf.client_secret.get_secret_value(),
            "grant_type": "client_credentials",
            "scope": "openid",
        }
        timeout = aiohttp.ClientTimeout(total=self.conf.timeout_seconds)
        async with self.session.post(self.conf.token_url, data=form, timeout=timeout) as resp:
            if resp.status != 200:
                raise TokenError(f"token endpoint answered HTTP {resp.status}")
            try:
                body: Any = json.loads(await read_body(resp, MAX_ANSWER_BYTES))
            except TooLarge as exc:
                raise TokenError(f"token endpoint {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise TokenError("token endpoint answered no access_token")
        self._token = body["access_token"]
        self._expires = time.monotonic() + float(body.get("expires_in", 300))
        return self._token

    async def dial(self, request: DialRequest) -> DialResult:
        payload = {
            "originate": self.conf.originate or request.flow_id,
            "destination": request.number,
            "email": request.email,
        }
        loop = asyncio.get_running_loop()
        until = loop.time() + (request.within_seconds or math.inf)
        rejected: str | None = None
        for _ in range(2):  # a 401: once more with a fresh token
            try:
                async with asyncio.timeout_at(until if until < math.inf else None):
                    token = await self.token(rejected)
            except (TokenError, *_FAILED) as exc:
                return NotSent(f"no token: {type(exc).__name__}: {exc}")
            body = _Body(json.dumps(payload).encode(), content_type="application/json")
            try:
                status, answer = await self._post(body, token, until - loop.time())
            except _FAILED as exc:
                if not body.sending:
                    return NotSent(f"call request did not reach the call API: {_named(exc)}")
                return Unknown(f"call API did not answer: {_named(exc)}")
            if status != 401:
                break
            rejected = token
        else:
            return NotSent("call API answered HTTP 401 after a fresh token")
        if 200 <= status < 300:
            ident = next(
                (answer[f] for f in _ID_FIELDS if isinstance(answer.get(f), str | int)), None
            )
            return Accepted(str(ident) if ident is not None else None)
        return NotSent(f"call API answered HTTP {status}")

    async def _post(self, body: _Body, token: str, left: float) -> tuple[int, dict[str, Any]]:
        """The call API's status and JSON object (empty when the body is not one or does
        not arrive whole within the deadline: the status has said what happened)."""
        if left <= 0:
            raise TimeoutError("no time left within the dial's share of the lease")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=min(self.conf.timeout_seconds, left))
        async with self.session.post(
            self.conf.call_url, data=body, headers=headers, timeout=timeout
        ) as resp:
            try:
                answer = json.loads(await read_body(resp, MAX_ANSWER_BYTES))
            except (*_FAILED, TooLarge):
                answer = {}
            return resp.status, answer if isinstance(answer, dict) else {}

    async def close(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()
            await asyncio.gather(self._fetching, return_exceptions=True)


def _named(exc: BaseException) -> str:
    return type(exc).__name__


def _build(
    conf: StartcallDialerSettings, http: aiohttp.ClientSession, sink: StatusSink
) -> StartcallDialer:
    return StartcallDialer(conf, http)


BACKEND = DialerBackend("startcall", StartcallDialerSettings, _build)
