"""The shared things handlers use, built once at start from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flowhooks.calendar import BusinessCalendar
from flowhooks.settings import Settings


@dataclass
class Services:
    """Calendars by name (case-insensitive lookup); more resources join in later layers."""

    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        calendars = {name: c.build(name) for name, c in settings.calendars.items()}
        return cls(calendars=calendars)

    def calendar(self, name: str) -> BusinessCalendar | None:
        found = self.calendars.get(name)
        if found is not None:
            return found
        wanted = name.lower()
        return next((c for n, c in self.calendars.items() if n.lower() == wanted), None)

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Each dependency's state, for /readyz."""
        return {"calendars": {"ok": True, "count": len(self.calendars)}}

    def warm(self, now: datetime) -> None:
        """Build every holiday table a request can reach, so no request pays for it."""
        for c in self.calendars.values():
            c.warm(now.astimezone(c.timezone).date())
