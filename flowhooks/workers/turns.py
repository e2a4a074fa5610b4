"""The shape every background loop shares: a turn, then wait for a wake-up, the poll
interval or stop, whichever comes first; while the database is unavailable, back off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from flowhooks.errors import StorageUnavailable
from flowhooks.storage.database import in_background

MAX_BACKOFF_SECONDS = 2.0  # the longest wait between turns while the database is down


def backoff(poll: float, failures: int) -> float:
    """The wait after ``failures`` turns in a row found the database unavailable: the
    poll interval, doubled each time up to MAX_BACKOFF_SECONDS (or the poll, if longer)."""
    if failures == 0:
        return poll
    return max(poll, min(poll * 2.0 ** (failures - 1), MAX_BACKOFF_SECONDS))


async def run_turns(
    turn: Callable[[], Awaitable[object]],
    wake: asyncio.Event,
    stop: asyncio.Event,
    poll: float,
    log: logging.Logger,
    alive: Callable[[], None],
) -> None:
    """Call ``turn`` until ``stop``; a failed turn is logged and the loop goes on.

    The database being unavailable is logged by the storage once when it starts and
    once when it ends (with the driver's reason), not by every turn; meanwhile the loop
    waits longer between turns and wake-ups do not cut the wait short. An unexpected
    error is logged with its traceback once, and again only when it changes.
    """
    in_background()
    down = 0  # turns in a row that found the database unavailable
    last_error = ""
    while not stop.is_set():
        wake.clear()  # before the turn: a wake-up during it starts the next one at once
        try:
            await turn()
            down, last_error = 0, ""
        except StorageUnavailable as exc:
            down += 1
            log.debug("database unavailable", extra={"fields": {"error": exc.message}})
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != last_error:
                log.exception("turn failed")
            last_error = error
        alive()
        waiters = [asyncio.ensure_future(stop.wait())]
        if not down:
            waiters.append(asyncio.ensure_future(wake.wait()))
        await asyncio.wait(
            waiters, timeout=backoff(poll, down), return_when=asyncio.FIRST_COMPLETED
        )
        for w in waiters:
            w.cancel()
