"""The shared things handlers use, built once at start from the settings."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flowhooks import phones
from flowhooks.calendar import BusinessCalendar
from flowhooks.settings import ClientSettings, Settings
from flowhooks.storage import Storage
from flowhooks.workers.dispatcher import Dispatcher, TokenBucket, make_policy
from flowhooks.workers.transitions import Policy


@dataclass
class Services:
    """Calendars, clients, the database, the dispatcher; handlers reach them via Context."""

    settings: Settings
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    storage: Storage | None = None
    dispatcher: Dispatcher | None = None
    policy: Policy | None = None
    _request_buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        calendars = {name: c.build(name) for name, c in settings.calendars.items()}
        return cls(settings=settings, calendars=calendars, policy=make_policy(settings, calendars))

    @property
    def db(self) -> Storage:
        if self.storage is None:
            raise RuntimeError("storage is not started")
        return self.storage

    def calendar(self, name: str) -> BusinessCalendar | None:
        found = self.calendars.get(name)
        if found is not None:
            return found
        wanted = name.lower()
        return next((c for n, c in self.calendars.items() if n.lower() == wanted), None)

    def client(self, name: str) -> ClientSettings | None:
        return self.settings.clients.get(name)

    def client_for_token(self, token: str) -> str | None:
        """The client whose api_token this is (every token compared, in constant time)."""
        found = None
        offered = token.encode()
        for name, client in self.settings.clients.items():
            if client.api_token is None:
                continue
            if hmac.compare_digest(offered, client.api_token.get_secret_value().encode()):
                found = name
        return found

    def number(self, client: str, text: str) -> str:
        """E.164 of ``text`` read in the client's default region (NumberRefused if not)."""
        conf = self.settings.clients[client]
        return phones.normalize(text, conf.default_region)

    def allow_request(self, client: str, per_second: float) -> bool:
        """One more request of this client within its rate (a token bucket per process)."""
        bucket = self._request_buckets.get(client)
        now = time.monotonic()
        if bucket is None or bucket.rate != per_second:
            bucket = self._request_buckets[client] = TokenBucket(per_second, now)
        return bucket.take(1, now) == 1

    def wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Each dependency's state, for /readyz."""
        checks: dict[str, dict[str, object]] = {
            "calendars": {"ok": True, "count": len(self.calendars)}
        }
        if self.storage is not None:
            checks["database"] = {"ok": await self.storage.ping(), "dialect": self.storage.dialect}
        else:
            checks["database"] = {"ok": False, "detail": "not started"}
        if self.dispatcher is not None:
            age = time.monotonic() - self.dispatcher.alive_at
            limit = max(30.0, self.settings.dialer.poll_seconds * 10)
            checks["dispatcher"] = {"ok": age < limit, "lastTurnSecondsAgo": round(age, 1)}
        return checks

    def warm(self, now: datetime) -> None:
        """Build every holiday table a request can reach, so no request pays for it."""
        for c in self.calendars.values():
            c.warm(now.astimezone(c.timezone).date())
