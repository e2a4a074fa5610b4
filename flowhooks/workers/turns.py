"""The shape every background loop shares: a turn, then wait for a wake-up, the poll
interval or stop, whichever comes first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from flowhooks.errors import StorageUnavailable


async def run_turns(
    turn: Callable[[], Awaitable[object]],
    wake: asyncio.Event,
    stop: asyncio.Event,
    poll: float,
    log: logging.Logger,
    alive: Callable[[], None],
) -> None:
    """Call ``turn`` until ``stop``; a failed turn is logged and the loop goes on."""
    while not stop.is_set():
        wake.clear()  # before the turn: a wake-up during it starts the next one at once
        try:
            await turn()
        except StorageUnavailable as exc:
            log.warning("database unavailable", extra={"fields": {"error": exc.message}})
        except Exception:
            log.exception("turn failed")
        alive()
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
