"""The background loops of a process: the dialer and dispatcher, the webhook delivery loop,
the retention job. ``flowhooks serve`` (with ``[server] workers``) and ``flowhooks worker``
run all three."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp

from flowhooks.clock import Clock
from flowhooks.errors import StorageUnavailable
from flowhooks.integrations.dialer import DIALERS
from flowhooks.outbound.model import Status, provider_state
from flowhooks.outbound.service import Outbound
from flowhooks.settings import Settings
from flowhooks.workers import retention
from flowhooks.workers.delivery import DeliveryLoop
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
        word = Status(provider_state(status), status, conf.backend, end_call_reason=reason)
        try:
            await outbound.apply_provider_status(call_id, word, clock.now())
        except StorageUnavailable:  # the storage logs the outage; no traceback a call
            log.warning("simulated status not recorded", extra={"fields": {"callId": call_id}})
        except Exception:
            log.exception("dialer status not recorded", extra={"fields": {"callId": call_id}})

    conf = settings.dialer
    dialer = DIALERS.get(conf.backend).build(conf.options(), http, sink)
    dispatcher = Dispatcher(settings, outbound, dialer, clock, on_lag)
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


@asynccontextmanager
async def delivery_runtime(
    settings: Settings,
    outbound: Outbound,
    http: aiohttp.ClientSession,
    clock: Clock,
    on_attempt: Callable[[str], None] | None = None,
) -> AsyncIterator[DeliveryLoop]:
    """The webhook delivery loop and the retention job, until the block ends (drained)."""
    loop = DeliveryLoop(settings, outbound.db, http, clock, on_attempt)
    await loop.start()
    outbound.attach_deliveries(loop.wake)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(loop.run(stop), name="deliveries"),
        asyncio.create_task(
            retention.run(
                outbound.db, settings.retention, clock, stop, settings.traces.retention_days
            )
        ),
    ]
    log.info("delivery loop started", extra={"fields": {"owner": loop.owner}})
    try:
        yield loop
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        outbound.attach_deliveries(None)
