"""The shared things handlers use, built once at start from the settings."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flowhooks import phones
from flowhooks.calendar import BusinessCalendar
from flowhooks.settings import ClientSettings, Settings
from flowhooks.storage import Storage


@dataclass
class Services:
    """Calendars, clients and the database; handlers reach them through their Context."""

    settings: Settings
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    storage: Storage | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        calendars = {name: c.build(name) for name, c in settings.calendars.items()}
        return cls(settings=settings, calendars=calendars)

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

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Each dependency's state, for /readyz."""
        checks: dict[str, dict[str, object]] = {
            "calendars": {"ok": True, "count": len(self.calendars)}
        }
        if self.storage is not None:
            checks["database"] = {"ok": await self.storage.ping(), "dialect": self.storage.dialect}
        else:
            checks["database"] = {"ok": False, "detail": "not started"}
        return checks

    def warm(self, now: datetime) -> None:
        """Build every holiday table a request can reach, so no request pays for it."""
        for c in self.calendars.values():
            c.warm(now.astimezone(c.timezone).date())
