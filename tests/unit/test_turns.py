"""The loops' shared turn (workers/turns.py): while the database is unavailable a loop
backs off and logs nothing of its own (the storage logs the outage once); an
unexpected error is logged with its traceback once, not every turn (issue 22)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from flowhooks.errors import StorageUnavailable
from flowhooks.workers.turns import MAX_BACKOFF_SECONDS, backoff, run_turns


def test_backoff_doubles_the_poll_up_to_its_cap() -> None:
    assert [backoff(0.25, n) for n in range(6)] == [0.25, 0.25, 0.5, 1.0, 2.0, 2.0]
    assert backoff(0.25, 50) == MAX_BACKOFF_SECONDS
    assert backoff(5.0, 3) == 5.0  # a poll longer than the cap stays the wait


async def run_failing(error: Exception, turns: int, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("flowhooks.test-loop")
    stop, wake = asyncio.Event(), asyncio.Event()
    count = 0

    async def turn() -> None:
        nonlocal count
        count += 1
        wake.set()  # a wake-up every turn: must not cut a back-off short
        if count >= turns:
            stop.set()
        raise error

    with caplog.at_level(logging.DEBUG, logger="flowhooks.test-loop"):
        await asyncio.wait_for(run_turns(turn, wake, stop, 0.001, log, lambda: None), 30)
    assert count == turns


async def test_an_unavailable_database_logs_nothing_above_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await run_failing(StorageUnavailable("database unavailable: connection refused"), 6, caplog)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG] * 6


async def test_the_same_unexpected_error_is_logged_with_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await run_failing(ValueError("a bug"), 5, caplog)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and logged[0].exc_info is not None
