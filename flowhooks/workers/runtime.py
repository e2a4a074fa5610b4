"""The outbound runtime of a process: the configured dialer and the dispatcher loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp

from flowhooks.clock import Clock
from flowhooks.integrations.dialer import DIALERS
from flowhooks.outbound.model import Status, provider_state
from flowhooks.outbound.service import Outbound
from flowhooks.settings import Settings
from flowhooks.workers.dispatcher import Dispatcher

log = logging.getLogger("flowhooks.workers")


@asynccontextmanager
async def outbound_runtime(
    settings: Settings,
    outbound: Outbound,
    http: aiohttp.ClientSession,
    clock: Clock,
    on_lag: Callable[[float], None] | None = None,
) -> AsyncIterator[Dispatcher]:
    """The dialer and the dispatcher loop, running until the block ends (then drained)."""

    async def sink(call_id: str, status: str, reason: str | None) -> None:
        word = Status(provider_state(status), status, "simulated", end_call_reason=reason)
        try:
            await outbound.apply_provider_status(call_id, word, clock.now())
        except Exception:
            log.exception("simulated status not recorded", extra={"fields": {"callId": call_id}})

    conf = settings.dialer
    dialer = DIALERS.get(conf.backend).build(conf.options(), http, sink)
    dispatcher = Dispatcher(settings, outbound.db, dialer, outbound.policy, clock, on_lag)
    outbound.attach(dispatcher.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop), name="dispatcher")
    log.info(
        "dispatcher started", extra={"fields": {"owner": dispatcher.owner, "dialer": dialer.name}}
    )
    try:
        yield dispatcher
    finally:
        stop.set()
        await task
        outbound.attach(None)
        await dialer.close()
