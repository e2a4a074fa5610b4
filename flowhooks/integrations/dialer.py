"""The Dialer seam: hand one call to a telephony backend.

A dial ends one of three ways, and the dispatcher treats them differently:

* ``Accepted``: the provider took the call (its id, when it gives one).
* ``NotSent``: the request surely did not place a call (connection refused, a 5xx
  or 429 answer, a token that cannot be had): re-sent after a backoff, no attempt used.
* ``Unknown``: the request went out and no answer came (a read timeout): the phone
  may be ringing, so it is never re-sent at once; it counts as a failed attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from flowhooks.outbound.model import DialRequest, DialResult

# The simulated backend reports states the way a provider's callback would.
StatusSink = Callable[[str, str, str | None], Awaitable[None]]  # (call id, status, reason)


class Dialer(Protocol):
    name: str

    async def dial(self, request: DialRequest) -> DialResult: ...

    async def close(self) -> None: ...
