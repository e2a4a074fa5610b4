"""Bringing the database up: open, migrate, register the agents named in config."""

from __future__ import annotations

import logging
from datetime import datetime

from flowhooks import phones
from flowhooks.settings import Settings
from flowhooks.storage import Storage, agents, migrations

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


async def start_storage(settings: Settings, now: datetime) -> Storage:
    conf = settings.storage
    storage = Storage.open(conf.url, conf.sqlite_synchronous, conf.pool_size)
    try:
        applied = await migrations.upgrade(
            storage, lambda line: log.info(line, extra={"fields": {"phase": "migrate"}})
        )
        if applied:
            log.info("schema migrated", extra={"fields": {"applied": applied}})
        await agents.upsert(storage, config_agents(settings), "config", now)
    except BaseException:
        await storage.close()
        raise
    return storage
