"""Proof that a crash loses no simulated call (issue 22, item 2), with real processes.

A ``flowhooks worker`` on the simulated dialer is killed with SIGKILL while hundreds of
calls are in flight (queued, dialing, initiated, ended). Restarted — two workers, on
SQLite and on PostgreSQL — every call reaches a final state within seconds: the calls
the dead process had ``initiated`` end as it had planned (not after
``max_call_minutes``), each ended by one process only, and each call's call_status
reaches the customer's receiver.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from flowhooks.outbound.model import NewCall, NewRequest
from flowhooks.storage import Storage, migrations
from flowhooks.storage import outbound as store
from flowhooks.storage import tables as t
from tests.conftest import NEUTRAL
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_proofs import process
from tests.integration.test_webhooks import start_receiver
from tests.outbound_conf import SECRET

pytestmark = pytest.mark.slow
CALLS = 400
STEP = 3  # seconds a simulated call lasts
LIVE = ("queued", "dialing", "initiated")


def config(path: Path, db_url: str, receiver: str, start: datetime) -> Path:
    path.write_text(
        f"""
[server]
log_level = "WARNING"
[storage]
url = "{db_url}"
[testing]
clock_start = "{start.isoformat()}"
[security]
allow_private_targets = true
[clients.acme]
security_id = "{SECRET}"
default_region = "IN"
flows = ["ab12cd34"]
max_calls_per_second = 100
max_concurrent_calls = 5000
retry_minutes = 60
[clients.acme.webhooks.call_status]
url = "{receiver}/hook"
[delivery]
concurrency = 16
per_endpoint = 16
lease_seconds = 5
poll_seconds = 0.05
initial_backoff_seconds = 0.2
max_backoff_seconds = 1
[dialer]
backend = "simulated"
poll_seconds = 0.05
lease_seconds = 5
[dialer.simulated]
step_seconds = {STEP}
outcomes = {{ completed = 0.8, busy = 0.2 }}
"""
    )
    return path


async def seed(db_url: str) -> list[str]:
    """CALLS calls due at NEUTRAL, one attempt each (so each ends in one call_status)."""
    storage = Storage.open(db_url)
    try:
        await migrations.upgrade(storage)
        calls = [
            NewCall(f"call-{i:05d}", i, f"+9199797{i:05d}", "UTC", NEUTRAL) for i in range(CALLS)
        ]
        req = NewRequest(
            "req-1", "acme", "ab12cd34", 0, "", "", "k", "f", NEUTRAL, 1, calls, {}, "seed"
        )
        await store.create(storage, req, NEUTRAL)
    finally:
        await storage.close()
    return [c.id for c in calls]


async def snapshot(db_url: str) -> tuple[dict[str, str], list[Any], list[Any]]:
    """Each call's state, every attempt row, every simulated status event."""
    storage = Storage.open(db_url)
    try:
        async with storage.read() as conn:
            calls = (
                await conn.execute(select(t.outbound_calls.c.id, t.outbound_calls.c.state))
            ).all()
            attempts = (await conn.execute(select(t.call_attempts))).all()
            events = (
                await conn.execute(
                    select(t.call_events).where(
                        t.call_events.c.kind == "callback", t.call_events.c.source == "simulated"
                    )
                )
            ).all()
    finally:
        await storage.close()
    return {c.id: c.state for c in calls}, attempts, events


async def test_sigkill_with_calls_in_flight_loses_no_call(
    db_url: str, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    ids = await seed(db_url)
    first = config(tmp_path / "first.toml", db_url, base, NEUTRAL)

    async def in_flight() -> bool:
        states = Counter((await snapshot(db_url))[0].values())
        return states["initiated"] >= 100

    with process("worker", "--config", str(first)) as worker:
        await wait_for(in_flight, timeout=120, interval=0.05)
        os.kill(worker.pid, signal.SIGKILL)
    states, _, _ = await snapshot(db_url)
    ringing = {cid for cid, state in states.items() if state == "initiated"}
    assert len(ringing) >= 50 and Counter(states.values())["queued"] > 0, Counter(states.values())

    # restarted a minute later, two processes: every promise is overdue, every lease ran out
    later = config(tmp_path / "later.toml", db_url, base, NEUTRAL + timedelta(minutes=1))
    with (
        process("worker", "--config", str(later)) as one,
        process("worker", "--config", str(later)) as two,
    ):
        await wait_for(lambda: one.said("dispatching") and two.said("dispatching"), timeout=60)

        async def all_final() -> bool:
            return not set((await snapshot(db_url))[0].values()) & set(LIVE)

        await wait_for(all_final, timeout=60, interval=0.1)  # seconds, not an hour
        await wait_for(lambda: {r.json()["id"] for r in receiver.received} >= set(ids), timeout=60)

    states, attempts, events = await snapshot(db_url)
    by_attempt = {(a.call_id, a.attempt): a for a in attempts}
    for cid in ringing:  # ended as the dead process planned: a simulated status, its duration
        attempt = by_attempt[(cid, 1)]
        assert states[cid] in ("completed", "busy") and attempt.outcome == states[cid]
        assert attempt.duration == (STEP if states[cid] == "completed" else None)
        assert attempt.end_call_reason != "no_final_status"
    ended_by = Counter(e.call_id for e in events)
    assert ringing <= set(ended_by) and set(ended_by.values()) == {1}  # once, by one process
    hooks: dict[str, set[str]] = {}
    for r in receiver.received:
        hooks.setdefault(r.json()["id"], set()).add(r.headers["webhook-id"])
    assert set(hooks) == set(ids) and all(len(h) == 1 for h in hooks.values())
