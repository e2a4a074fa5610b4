"""The simulated dialer on SQLite and PostgreSQL (issue 22, item 2): the duration it
reports, and the end of each call it accepted kept in the database, so whichever
process runs when the call is due ends it, exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, text

from flowhooks.outbound.transitions import kept_promise
from flowhooks.storage import Storage, migrations, promises
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_webhooks import FAST, start_receiver
from tests.outbound_conf import create, outbound_conf, post, simulated_dialer, view

NOON = datetime.fromisoformat("2026-11-21T12:00:00+05:30")  # inside the calling window


def hooked(db_url: str, base: str, outcomes: str, step: float, workers: bool = True) -> Any:
    hook = f"""
[security]
allow_private_targets = true
[clients.acme.webhooks.call_status]
url = "{base}/hook"
{FAST}"""
    dialer = simulated_dialer(outcomes, step=step)
    return outbound_conf(db_url, workers=workers, extra=hook, dialer=dialer)


async def test_an_answered_call_reports_its_duration_others_none(
    make_client: ClientFactory, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    conf = hooked(db_url, base, "{ completed = 1.0 }", step=0.3)
    client = await make_client(conf)
    _, keys, _ = await post(client, create("9979746666"))
    await wait_for(lambda: receiver.received, timeout=20)
    event = receiver.received[0].json()
    assert (event["status"], event["duration"]) == ("completed", "1")  # 0.3 s, whole seconds up
    attempt = (await view(client, keys["$flow.key.obdReqID"]))["calls"][0]["attempts"][0]
    assert attempt["duration"] == 1
    assert not [k for k in attempt if "promise" in k.lower()]  # kept inside, never shown
    await client.close()  # its dispatcher must not dial the next call

    busy = await make_client(hooked(db_url, base, "{ busy = 1.0 }", step=0.3))
    await post(busy, create("9979746667", idempotencyKey="busy"))
    await wait_for(lambda: len(receiver.received) == 2, timeout=20)
    event = receiver.received[1].json()
    assert (event["status"], event["duration"]) == ("busy", "")  # never answered


async def _history(client: Any, req: str) -> list[list[dict[str, Any]]]:
    return [c["history"] for c in (await view(client, req))["calls"]]


async def test_a_call_whose_dialer_stopped_is_ended_at_its_time_by_another_process(
    make_client: ClientFactory, db_url: str
) -> None:
    conf = outbound_conf(db_url, workers=True, dialer=simulated_dialer(step=30))
    first = await make_client(conf, now=NOON)
    _, keys, _ = await post(first, create("9979746666"))
    req = keys["$flow.key.obdReqID"]

    async def initiated() -> bool:
        return [c["state"] for c in (await view(first, req))["calls"]] == ["initiated"]

    await wait_for(initiated, timeout=20)
    await first.close()  # its process stops (or dies) while the call rings

    second = await make_client(conf, now=NOON + timedelta(seconds=10))
    dispatcher = second.app[appkeys.DISPATCHER]
    await dispatcher.turn()
    assert [c["state"] for c in (await view(second, req))["calls"]] == ["initiated"]  # not yet
    clock = second.app[appkeys.CLOCK]
    clock.moment = NOON + timedelta(seconds=31)  # type: ignore[attr-defined]
    await dispatcher.turn()
    call = (await view(second, req))["calls"][0]
    assert (call["state"], call["endCallReason"]) == ("completed", "human_goodbye")
    assert call["attempts"][0]["duration"] == 30
    ends = [h for h in call["history"] if h["kind"] == "callback"]
    assert [(h["source"], h["detail"]) for h in ends] == [("simulated", "completed")]


async def test_two_processes_end_each_call_exactly_once(
    make_client: ClientFactory, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    conf = hooked(db_url, base, "{ completed = 0.5, no-answer = 0.5 }", step=30)
    numbers = ", ".join(f"99797{i:05d}" for i in range(40))
    first = await make_client(conf, now=NOON)
    _, keys, _ = await post(first, create(numbers))
    req = keys["$flow.key.obdReqID"]

    async def all_initiated() -> bool:
        return {c["state"] for c in (await view(first, req))["calls"]} == {"initiated"}

    await wait_for(all_initiated, timeout=30)
    await first.close()

    later = NOON + timedelta(minutes=5)
    one, two = await asyncio.gather(make_client(conf, now=later), make_client(conf, now=later))
    await asyncio.gather(one.app[appkeys.DISPATCHER].turn(), two.app[appkeys.DISPATCHER].turn())

    async def all_ended() -> bool:
        states = {c["state"] for c in (await view(one, req))["calls"]}
        return states <= {"completed", "no-answer", "queued"}

    await wait_for(all_ended, timeout=30)
    for history in await _history(one, req):
        ends = [h for h in history if h["kind"] == "callback"]
        assert len(ends) == 1, ends  # delivered by one process only
    await wait_for(lambda: len(receiver.received) >= 40, timeout=30)
    await asyncio.sleep(0.5)  # a second call_status for any call would have arrived by now
    ids = [r.json()["id"] for r in receiver.received]
    assert len(set(ids)) == 40 and len({r.headers["webhook-id"] for r in receiver.received}) == 40


async def test_migration_8_adds_the_promise_columns_to_an_older_database(db_url: str) -> None:
    """A database from before migration 8 gains the columns and the index; an attempt
    written before keeps no promise, one written after keeps its own."""
    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        async with s.write() as conn:  # back to the shape migration 7 left
            await conn.execute(text("DROP INDEX ix_call_attempts_promised"))
            for column in ("promised", "promised_at", "promise_held_until"):
                await conn.execute(text(f"ALTER TABLE call_attempts DROP COLUMN {column}"))
            await conn.execute(t.schema_version.delete().where(t.schema_version.c.version == 8))
            await conn.execute(
                text(
                    "INSERT INTO call_attempts (call_id, attempt, started_at) VALUES (:c, 1, :at)"
                ),
                {"c": "old", "at": NOON.replace(tzinfo=None)},
            )
        assert await migrations.upgrade(s) == [8]
        due = NOON + timedelta(seconds=5)
        async with s.write() as conn:
            await conn.execute(
                t.call_attempts.insert().values(
                    call_id="new", attempt=1, started_at=NOON, promised={"status": "busy"},
                    promised_at=due,
                )
            )  # fmt: skip
        held = await promises.take_due(s, due, due + timedelta(minutes=1), 10)
        assert [(h.call_id, h.promised) for h in held] == [("new", {"status": "busy"})]
        assert await promises.take_due(s, due, due + timedelta(minutes=1), 10) == []  # held

        def indexes(sync: Any) -> set[str]:
            return {i["name"] for i in inspect(sync).get_indexes("call_attempts")}

        async with s.write() as conn:
            assert "ix_call_attempts_promised" in await conn.run_sync(indexes)
    finally:
        await s.close()


async def test_a_promise_held_twice_is_reported_once(
    make_client: ClientFactory, db_url: str
) -> None:
    """A process too slow to report within its hold: a second one takes the promise
    too. Whichever reports second finds the attempt ended and records nothing."""
    conf = outbound_conf(db_url, workers=True, dialer=simulated_dialer(step=30))
    first = await make_client(conf, now=NOON)
    _, keys, _ = await post(first, create("9979746666"))
    req = keys["$flow.key.obdReqID"]

    async def initiated() -> bool:
        return [c["state"] for c in (await view(first, req))["calls"]] == ["initiated"]

    await wait_for(initiated, timeout=20)
    await first.close()
    later = NOON + timedelta(minutes=1)
    client = await make_client(outbound_conf(db_url), now=later)  # no loops of its own
    outbound = client.app[appkeys.OUTBOUND]
    one = await promises.take_due(outbound.db, later, later + timedelta(seconds=5), 10)
    after = later + timedelta(seconds=6)  # the first hold ran out unreported
    two = await promises.take_due(outbound.db, after, after + timedelta(seconds=5), 10)
    assert len(one) == len(two) == 1 and one[0].call_id == two[0].call_id
    reports = [(h.call_id, kept_promise(h.promised, h.attempt)) for h in one + two]
    await asyncio.gather(
        *(outbound.apply_provider_status(c, s, after, once=True) for c, s in reports)
    )
    call = (await view(client, req))["calls"][0]
    assert call["state"] == "completed"
    assert len([h for h in call["history"] if h["kind"] == "callback"]) == 1
