"""Each client's ``max_requests_per_second``, held across every process (SPEC 1, 429).

The budget is a token bucket in the database (storage/pacing.py), shared by every
``serve`` process. A process takes a lease of tokens at once (a tenth of a second of
the rate, at least one) and spends it locally, so a request costs a database trip only
once a lease; a lease not spent within ``LEASE_SECONDS`` lapses (its tokens were
counted). When the shared bucket is empty the process answers 429 on its own until a
token could be there again. Only envelopes that name a configured client count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from flowhooks.errors import StorageUnavailable
from flowhooks.outbound.pacing import lease_size, retry_after
from flowhooks.settings import ClientSettings
from flowhooks.storage import Storage, pacing

log = logging.getLogger("flowhooks.limits")
LEASE_TAKES = 0.1  # seconds of a client's rate taken from the shared bucket at once
LEASE_SECONDS = 1.0  # an unspent lease lapses after this long
ASK_SECONDS = 0.5  # the database's answer is awaited this long, then the request goes on


@dataclass
class _Lease:
    tokens: int = 0
    until: float = 0.0  # monotonic; unspent tokens lapse then
    empty_until: float = 0.0  # the shared bucket was empty: refuse without asking again
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def spend(self, now: float) -> bool:
        if self.tokens > 0 and now < self.until:
            self.tokens -= 1
            return True
        return False


class RequestLimits:
    """``await check(client)``: None when the request may go on, else the seconds to
    wait (the answer's ``Retry-After``)."""

    def __init__(self, db: Storage, clients: Mapping[str, ClientSettings]) -> None:
        self._db = db
        self._clients = clients
        self._leases: dict[str, _Lease] = {}

    async def check(self, client: str) -> int | None:
        conf = self._clients.get(client)
        if conf is None:
            return None  # an unknown client is the handler's to refuse
        lease = self._leases.get(client)
        if lease is None:
            lease = self._leases[client] = _Lease()
        now = time.monotonic()
        if lease.spend(now):
            return None
        rate = conf.max_requests_per_second
        if now < lease.empty_until:
            return retry_after(rate)
        async with lease.lock:  # one trip to the database a client at a time
            now = time.monotonic()
            if lease.spend(now):
                return None
            if now < lease.empty_until:
                return retry_after(rate)
            granted = await self._take(client, rate)
            now = time.monotonic()
            if granted == 0:
                lease.tokens, lease.empty_until = 0, now + min(1.0, 1.0 / rate)
                return retry_after(rate)
            lease.tokens, lease.until = granted - 1, now + LEASE_SECONDS
            return None

    async def _take(self, client: str, rate: float) -> int:
        wanted = lease_size(rate, LEASE_TAKES)
        try:
            async with asyncio.timeout(ASK_SECONDS):
                async with self._db.hot_write() as tx:
                    name = f"requests:{client}"
                    return await pacing.take(tx, self._db.dialect, name, rate, wanted)
        except (StorageUnavailable, TimeoutError):
            # the database is down or slow: a method that needs none still answers (fail
            # open, a lease at a time, so the database is asked at most once a lease)
            # (the storage logs an outage once, with its reason; this is every lease)
            log.debug("request limits unavailable: database down or slow")
            return wanted
