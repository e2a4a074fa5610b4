"""The ``startcall`` dialer: an HTTP call API behind OAuth2 client-credentials tokens.

Token: ``POST token_url`` (form: client_id, client_secret, grant_type=client_credentials,
scope=openid) -> ``{"access_token", "expires_in"}``; reused until 30 s before it
expires, fetched again once when the call API answers 401. Call:
``POST call_url`` with ``{"originate", "destination", "email"}`` and the bearer token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from pydantic import Field, SecretStr

from flowhooks.integrations.dialer import DialerBackend, StatusSink
from flowhooks.outbound.model import Accepted, DialRequest, DialResult, NotSent, Unknown
from flowhooks.plugins import BackendSettings

REFRESH_MARGIN_S = 30.0
_ID_FIELDS = ("callId", "call_id", "id", "uuid")


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


class StartcallDialer:
    name = "startcall"

    def __init__(self, conf: StartcallDialerSettings, session: aiohttp.ClientSession) -> None:
        self.conf = conf
        self.session = session
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=conf.timeout_seconds, sock_read=conf.timeout_seconds
        )

    async def token(self, force: bool = False) -> str:
        """A valid access token; one fetch at a time however many dials wait for it."""
        async with self._lock:
            if not force and self._token and time.monotonic() < self._expires - REFRESH_MARGIN_S:
                return self._token
            form = {
                "client_id": self.conf.client_id,
                "client_secret": self.conf.client_secret.get_secret_value(),
                "grant_type": "client_credentials",
                "scope": "openid",
            }
            async with self.session.post(
                self.conf.token_url, data=form, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise TokenError(f"token endpoint answered HTTP {resp.status}")
                body: Any = await resp.json(content_type=None)
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
        try:
            token = await self.token()
        except (TokenError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return NotSent(f"no token: {type(exc).__name__}: {exc}")
        for refreshed in (False, True):
            try:
                status, body = await self._post(payload, token)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                return NotSent(f"call API unreachable: {type(exc).__name__}")
            except (aiohttp.ClientError, TimeoutError) as exc:  # sent, no answer: maybe ringing
                return Unknown(f"call API did not answer: {type(exc).__name__}")
            if status == 401 and not refreshed:
                try:
                    token = await self.token(force=True)
                except (TokenError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    return NotSent(f"no token: {type(exc).__name__}: {exc}")
                continue
            if 200 <= status < 300:
                ident = next(
                    (body[f] for f in _ID_FIELDS if isinstance(body.get(f), str | int)), None
                )
                return Accepted(str(ident) if ident is not None else None)
            return NotSent(f"call API answered HTTP {status}")
        return NotSent("call API answered HTTP 401 after a fresh token")

    async def _post(self, payload: dict[str, str], token: str) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with self.session.post(
            self.conf.call_url, json=payload, headers=headers, timeout=self._timeout
        ) as resp:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                body = {}
            return resp.status, body if isinstance(body, dict) else {}

    async def close(self) -> None:
        return None


def _build(
    conf: StartcallDialerSettings, http: aiohttp.ClientSession, sink: StatusSink
) -> StartcallDialer:
    return StartcallDialer(conf, http)


BACKEND = DialerBackend("startcall", StartcallDialerSettings, _build)
