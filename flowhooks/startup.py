"""Starting what a process needs: the database (open, migrate, register config agents),
and the outbound runtime (dialer + dispatcher) for `serve` and `worker` alike."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import aiohttp

from flowhooks import phones
from flowhooks.clock import Clock
from flowhooks.integrations.dialer import Dialer, StatusSink
from flowhooks.integrations.simulated import SimulatedDialer
from flowhooks.integrations.startcall import StartcallDialer
from flowhooks.services import Services
from flowhooks.settings import Settings
from flowhooks.storage import Storage, agents, migrations
from flowhooks.workers.dispatcher import Dispatcher, record_status
from flowhooks.workers.jobs import provider_state
from flowhooks.workers.transitions import Status

log = logging.getLogger("flowhooks.startup")


def config_agents(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(client, cli, name, did) of every [[agents]] entry, numbers in E.164."""
    out = []
    for agent in settings.agents:
        region = settings.clients[agent.client].default_region
        cli = phones.normalize(agent.cli, region)
        did = phones.normalize(agent.did, region)
        out.append((agent.client, cli, agent.name, did))
    return out


def settle_heap() -> None:
    """Collect once, then keep what start-up built out of the cyclic collector's sight.

    A long-running process holds ~100k objects from start-up (pydantic, SQLAlchemy,
    holiday tables) that live as long as it does. Left in the oldest generation, every
    full collection walks them: a ~50 ms pause for every request in flight (measured:
    max latency 82-86 ms without this, 15-17 ms with it; bench/README.md).
    """
    gc.collect()
    gc.freeze()


async def start_storage(settings: Settings, now: datetime) -> Storage:
    conf = settings.storage
    storage = Storage.open(conf.url, conf.sqlite_synchronous, conf.pool_size)
    try:
        applied = await migrations.upgrade(
            storage, lambda line: log.info(line, extra={"fields": {"phase": "migrate"}}), now
        )
        if applied:
            log.info("schema migrated", extra={"fields": {"applied": applied}})
        await agents.upsert(storage, config_agents(settings), "config", now)
    except BaseException:
        await storage.close()
        raise
    return storage


def build_dialer(settings: Settings, session: aiohttp.ClientSession, sink: StatusSink) -> Dialer:
    conf = settings.dialer
    if conf.backend == "startcall":
        return StartcallDialer(conf.startcall, session)
    return SimulatedDialer(conf.simulated, sink)


@asynccontextmanager
async def outbound_runtime(
    services: Services, clock: Clock, on_lag: Callable[[float], None] | None = None
) -> AsyncIterator[Dispatcher]:
    """The dialer and the dispatcher loop, running until the block ends (then drained)."""
    settings = services.settings
    storage, policy = services.db, services.policy
    assert policy is not None

    async def sink(call_id: str, status: str, reason: str | None) -> None:
        word = Status(provider_state(status), status, "simulated", end_call_reason=reason)
        try:
            await record_status(storage, policy, call_id, word, clock.now())
        except Exception:
            log.exception("simulated status not recorded", extra={"fields": {"callId": call_id}})

    session = aiohttp.ClientSession()
    dialer = build_dialer(settings, session, sink)
    dispatcher = Dispatcher(settings, storage, dialer, policy, clock, on_lag)
    services.dispatcher = dispatcher
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
        services.dispatcher = None
        await dialer.close()
        await session.close()
