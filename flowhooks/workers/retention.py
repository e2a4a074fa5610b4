"""The retention job: every ``interval_minutes`` purge what ``[retention]`` (and
``[traces] retention_days``) keeps no more."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from flowhooks.clock import Clock
from flowhooks.errors import StorageUnavailable
from flowhooks.settings import RetentionSettings
from flowhooks.storage import Storage
from flowhooks.storage import retention as store
from flowhooks.storage.database import in_background

log = logging.getLogger("flowhooks.retention")


def cutoffs(
    conf: RetentionSettings, now: datetime, traces_days: int = 0
) -> dict[str, datetime | None]:
    """The oldest time kept for each kind; None when it is kept forever (0 days)."""

    def before(days: int) -> datetime | None:
        return now - timedelta(days=days) if days > 0 else None

    return {
        "call_events": before(conf.call_events_days),
        "reports": before(conf.reports_days),
        "deliveries": before(conf.deliveries_days),
        "traces": before(traces_days),
    }


async def purge_once(
    storage: Storage, conf: RetentionSettings, now: datetime, traces_days: int = 0
) -> dict[str, int]:
    counts = await store.purge(
        storage,
        cutoffs(conf, now, traces_days),
        now,
        conf.batch_size,
        lambda: asyncio.sleep(0.01),
    )
    if any(counts.values()):
        log.info("retention purge", extra={"fields": counts})
    return counts


async def run(
    storage: Storage,
    conf: RetentionSettings,
    clock: Clock,
    stop: asyncio.Event,
    traces_days: int = 0,
) -> None:
    """Purge at once, then every interval, until ``stop``."""
    in_background()
    while not stop.is_set():
        try:
            await purge_once(storage, conf, clock.now(), traces_days)
        except StorageUnavailable as exc:  # the storage logs the outage, once
            log.debug("database unavailable", extra={"fields": {"error": exc.message}})
        except Exception:
            log.exception("retention purge failed")
        try:
            await asyncio.wait_for(stop.wait(), conf.interval_minutes * 60)
        except TimeoutError:
            pass
