"""Proofs that no webhook event is lost (SPEC 2.4, issue 10), with real HTTP and, for
two of them, real ``flowhooks worker`` processes.

* The receiver is away (503) for 30 s while 500 events are produced; once it is back
  every event is delivered, each ``webhook-id`` accepted exactly once.
* A worker is killed with SIGKILL in the middle of 1,000 deliveries; after a restart
  every event is delivered, and the duplicates are at most what was in flight.
* Two workers on one PostgreSQL deliver 2,000 events: each sent exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowhooks.storage import Storage, migrations, outbox
from flowhooks.webhooks.events import NewDelivery
from tests.conftest import NEUTRAL
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_proofs import process
from tests.integration.test_webhooks import hooks_conf, report, start_receiver

pytestmark = pytest.mark.slow
CONCURRENCY = 16


async def test_a_receiver_away_for_30_s_gets_every_event_exactly_once(
    make_client: Any, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = WebhookReceiver(down=True)
    base = await start_receiver(aiohttp_server, receiver)
    delivery = """
[delivery]
initial_backoff_seconds = 0.5
max_backoff_seconds = 3
poll_seconds = 0.1
"""
    db_url = f"sqlite:///{tmp_path}/flowhooks.db"
    client = await make_client(hooks_conf(db_url, base, delivery=delivery))
    loop = asyncio.get_running_loop()
    away_until = loop.time() + 30
    ids = [await report(client, n=str(i)) for i in range(500)]
    assert loop.time() < away_until  # all 500 produced while it is away
    await asyncio.sleep(away_until - loop.time())  # the outage itself is the test
    assert receiver.received == []
    receiver.down = False
    await wait_for(lambda: len(receiver.accepted_ids()) == 500, timeout=60, interval=0.1)
    by_id = receiver.accepted_ids()
    assert set(by_id.values()) == {1}
    assert sorted(r.query["id"] for r in receiver.received) == sorted(ids)


def worker_config(path: Path, db_url: str, receiver: str, lease: int = 5) -> Path:
    path.write_text(
        f"""
[server]
log_level = "WARNING"
[storage]
url = "{db_url}"
[testing]
clock_start = "{NEUTRAL.isoformat()}"
[security]
allow_private_targets = true
[clients.acme.webhooks.report]
url = "{receiver}/hook?id={{{{id}}}}"
[delivery]
concurrency = {CONCURRENCY}
per_endpoint = {CONCURRENCY}
lease_seconds = {lease}
poll_seconds = 0.05
initial_backoff_seconds = 0.2
max_backoff_seconds = 1
"""
    )
    return path


async def seed_events(db_url: str, count: int) -> list[str]:
    """``count`` report events in the outbox, as pullreport writes them."""
    storage = Storage.open(db_url)
    try:
        await migrations.upgrade(storage)
        found = [
            NewDelivery(
                str(uuid.uuid4()),
                f"msg_{i:05d}",
                "acme",
                "report",
                {"id": f"r-{i:05d}"},
                NEUTRAL,
                NEUTRAL + timedelta(hours=24),
            )
            for i in range(count)
        ]
        async with storage.write() as conn:
            await outbox.enqueue(conn, found)
    finally:
        await storage.close()
    return [d.event_id for d in found]


class SlowReceiver(WebhookReceiver):
    """Takes a few milliseconds an event, so a kill lands mid-stream."""

    async def receive(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.005)
        return await super().receive(request)


async def test_sigkill_mid_delivery_loses_nothing(aiohttp_server: Any, tmp_path: Path) -> None:
    receiver = SlowReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    db_url = f"sqlite:///{tmp_path}/flowhooks.db"
    conf = worker_config(tmp_path / "w.toml", db_url, base)
    events = await seed_events(db_url, 1000)
    with process("worker", "--config", str(conf)) as worker:
        await wait_for(lambda: len(receiver.received) >= 300, timeout=60, interval=0.01)
        os.kill(worker.pid, signal.SIGKILL)
    at_kill = len(receiver.received)
    assert at_kill < 1000, "the kill came too late to prove anything"
    with process("worker", "--config", str(conf)):
        await wait_for(lambda: set(receiver.accepted_ids()) >= set(events), timeout=120)
    by_id = receiver.accepted_ids()
    assert set(by_id) == set(events)
    duplicates = sum(n - 1 for n in by_id.values())
    assert duplicates <= CONCURRENCY, duplicates  # only what was in flight at the kill


@pytest.mark.postgres
async def test_two_workers_on_postgres_deliver_2000_events_exactly_once(
    pg_url: str, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    conf = worker_config(tmp_path / "w.toml", pg_url, base, lease=60)
    storage = Storage.open(pg_url)
    await migrations.upgrade(storage)
    await storage.close()
    with (
        process("worker", "--config", str(conf)) as one,
        process("worker", "--config", str(conf)) as two,
    ):
        await wait_for(lambda: one.said("delivering") and two.said("delivering"), timeout=60)
        events = await seed_events(pg_url, 2000)
        await wait_for(lambda: len(receiver.received) >= 2000, timeout=120, interval=0.1)
        await asyncio.sleep(0.5)  # anything sent twice would arrive by now
    by_id = receiver.accepted_ids()
    assert set(by_id) == set(events) and set(by_id.values()) == {1}
