"""The Dialer seam: hand one call to a telephony backend.

A dial ends one of three ways (``flowhooks.outbound.model``), and the dispatcher
treats them differently:

* ``Accepted``: the provider took the call (its id, when it gives one). It may carry
  a ``Promise``: the final status the backend will report and when (the simulated
  dialer's way of ending calls); the dispatcher keeps it in the database with the
  attempt and reports it when due, from whichever process runs then.
* ``NotSent``: the request surely did not place a call (connection refused, a 5xx
  or 429 answer, a token that cannot be had, out of time before the request left):
  re-sent after a backoff, no attempt used.
* ``Unknown``: the request may have reached the provider and no answer came (a
  timeout after sending): the phone may be ringing, so it is never re-sent at once;
  it counts as a failed attempt.

A dial returns within ``DialRequest.within_seconds`` (a share of the lease); a backend
that cannot send by then answers ``NotSent``. After ``0.8 * lease_seconds`` the
dispatcher stops waiting and counts the dial ``Unknown``.

Backends are found by name in ``DIALERS`` (``[dialer] backend``): the built-ins and
the ``flowhooks.dialers`` entry-point group. Each backend module exports a
``DialerBackend`` as ``BACKEND``, with its own settings model for ``[dialer.NAME]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel

from flowhooks.outbound.model import DialRequest, DialResult
from flowhooks.plugins import Backends

# A plug-in backend may report states the way a provider's callback would.
StatusSink = Callable[[str, str, str | None], Awaitable[None]]  # (call id, status, reason)


class Dialer(Protocol):
    name: str

    async def dial(self, request: DialRequest) -> DialResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class DialerBackend:
    """A dialer as a plug-in: its settings model and how to build it."""

    name: str
    settings: type[BaseModel]  # validates [dialer.NAME]
    build: Callable[[Any, aiohttp.ClientSession, StatusSink], Dialer]  # (its settings, ...)


DIALERS: Backends[DialerBackend] = Backends(
    "dialer",
    "flowhooks.dialers",
    {
        "simulated": "flowhooks.integrations.simulated:BACKEND",
        "startcall": "flowhooks.integrations.startcall:BACKEND",
    },
    DialerBackend,
)
