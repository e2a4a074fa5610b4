"""Short links as the handlers and the redirector use them (SPEC 2.8).

A redirect never waits for a write: a link, once read, is kept in a bounded cache (links
never change; expiry is checked against the clock on every click), and clicks are
counted in memory and written in one transaction at least once a second by a
background flush (and at shutdown). A flush that fails keeps its counts for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from flowhooks.errors import StorageUnavailable
from flowhooks.links import useragents
from flowhooks.links.codes import new_code
from flowhooks.memo import BoundedCache
from flowhooks.settings import LinksSettings
from flowhooks.storage import Storage
from flowhooks.storage import links as store
from flowhooks.storage.database import in_background
from flowhooks.storage.links import Clicks, CodeTaken, StoredLink

log = logging.getLogger("flowhooks.links")
DRAWS = 8  # a collision at 62^7+ codes is rare; eight in a row means something is wrong


CACHE_BYTES = 64 * 1024 * 1024  # links kept, whatever cache_size says


class NoFreeCode(Exception):
    """Every code drawn was taken."""


@dataclass(slots=True)
class _Pending:
    clicks: int
    bot_clicks: int
    last_at: datetime
    days: dict[date, list[int]] = field(default_factory=dict)  # UTC day -> [clicks, bots]


class Links:
    def __init__(self, conf: LinksSettings, public_base_url: str, db: Storage) -> None:
        self.conf = conf
        self.base = public_base_url.rstrip("/")
        self.db = db
        self._cache: BoundedCache[str, StoredLink] = BoundedCache(
            conf.cache_size, CACHE_BYTES, lambda code, link: 300 + len(link.long_url)
        )
        self._pending: dict[str, _Pending] = {}
        self.lookups = 0  # reads of the database by the redirector (for /metrics and tests)
        self._task: asyncio.Task[None] | None = None

    def short_url(self, code: str) -> str:
        return f"{self.base}/s/{code}"

    async def create(
        self, client: str, long_url: str, now: datetime, expire_days: int | None = None
    ) -> StoredLink:
        """A new link of ``client`` (``expire_days`` None: ``[links] expire_days``)."""
        days = self.conf.expire_days if expire_days is None else expire_days
        expires = now + timedelta(days=days) if days else None
        for _ in range(DRAWS):
            link = StoredLink(new_code(self.conf.code_length), client, long_url, now, expires)
            try:
                await store.insert(self.db, link)
            except CodeTaken:
                continue
            return link
        raise NoFreeCode(f"{DRAWS} codes drawn were all taken")

    async def find(self, code: str) -> StoredLink | None:
        """The link (from the cache when it was read before), or None."""
        found = self._cache.get(code)
        if found is not None:
            return found
        self.lookups += 1
        found = await store.find(self.db, code)
        if found is not None:
            self._cache.put(code, found)
        return found

    def click(self, code: str, bot: bool, now: datetime) -> None:
        """Count a click in memory; the flush writes it."""
        self._count(code, 0 if bot else 1, 1 if bot else 0, now)

    def _count(
        self, code: str, people: int, bots: int, at: datetime, day: date | None = None
    ) -> None:
        pending = self._pending.get(code)
        if pending is None:
            pending = self._pending[code] = _Pending(0, 0, at)
        pending.clicks += people
        pending.bot_clicks += bots
        if at > pending.last_at:
            pending.last_at = at
        if day is None:
            day = (at if at.tzinfo is UTC else at.astimezone(UTC)).date()
        by_day = pending.days.get(day)
        if by_day is None:
            pending.days[day] = [people, bots]
        else:
            by_day[0] += people
            by_day[1] += bots

    async def stats(self, code: str, client: str) -> StoredLink | None:
        """The link with its counts (this process's unwritten clicks added), if ``client``'s."""
        found = await store.find(self.db, code)
        if found is None or found.client != client:
            return None
        pending = self._pending.get(code)
        if pending is None:
            return found
        last = pending.last_at
        if found.last_click_at is not None and found.last_click_at > last:
            last = found.last_click_at
        return replace(
            found,
            clicks=found.clicks + pending.clicks,
            bot_clicks=found.bot_clicks + pending.bot_clicks,
            last_click_at=last,
        )

    async def listing(
        self, client: str, limit: int, before: tuple[datetime, str] | None
    ) -> list[StoredLink]:
        """The client's links, newest first (counts as last flushed)."""
        return await store.listing(self.db, client, limit, before)

    async def days(self, code: str, since: date) -> list[tuple[date, int, int]]:
        """(UTC day, clicks, bot clicks) of a link from ``since`` (check whose it is
        with ``stats`` first), this process's unwritten clicks added."""
        found = {day: (n, bots) for day, n, bots in await store.days(self.db, code, since)}
        pending = self._pending.get(code)
        for day, (n, bots) in pending.days.items() if pending else ():
            had = found.get(day, (0, 0))
            if day >= since:
                found[day] = (had[0] + n, had[1] + bots)
        return [(day, n, bots) for day, (n, bots) in sorted(found.items())]

    async def flush(self) -> int:
        """Write the counted clicks; on failure they are kept for the next flush."""
        taken, self._pending = self._pending, {}
        if not taken:
            return 0
        batch = [
            Clicks(
                code,
                p.clicks,
                p.bot_clicks,
                p.last_at,
                tuple((day, n, bots) for day, (n, bots) in p.days.items()),
            )
            for code, p in taken.items()
        ]
        try:
            await store.add_clicks(self.db, batch)
        except Exception:
            for code, p in taken.items():  # merged with the clicks counted meanwhile
                for day, (n, bots) in p.days.items():
                    self._count(code, n, bots, p.last_at, day)
            raise
        return len(batch)

    async def _flusher(self) -> None:
        in_background()
        while True:
            await asyncio.sleep(self.conf.flush_seconds)
            try:
                await self.flush()
            except StorageUnavailable:  # keep counting, try again; the storage logs the outage
                log.debug("click counts not written yet: database unavailable")
            except Exception as exc:
                log.warning("click counts not written yet: %s", type(exc).__name__)

    def start(self) -> None:
        useragents.lists()  # read the crawler lists now: the first click should not wait
        self._task = asyncio.create_task(self._flusher(), name="links-flush")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception as exc:
            log.error("click counts lost at shutdown: %s", type(exc).__name__)
