"""Fair webhook delivery (issue 22, item 4), on SQLite and PostgreSQL, over real HTTP.

Endpoints that accept the connection and never answer, far more of them than
``concurrency / per_endpoint``, with a backlog older than anything else, must not
starve a healthy client's receiver: its events arrive within seconds. An endpoint
that keeps failing is backed off as a whole, and /metrics and /readyz say so.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from flowhooks.clock import FixedClock
from flowhooks.storage import Storage, migrations, outbox
from flowhooks.web import keys as appkeys
from flowhooks.webhooks.events import NewDelivery
from flowhooks.webhooks.retry import Breaker, Decision
from tests.conftest import NEUTRAL
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_webhooks import deliveries, hooks_conf, report, start_receiver
from tests.outbound_conf import TOKEN, outbound_conf, simulated_dialer

HANGING_CLIENTS = 6  # x 2 hooks = 12 hanging endpoints, against concurrency 8 / per_endpoint 2
BACKLOG = 40  # events waiting for each hanging endpoint before the healthy client's first


class HangingReceiver:
    """Accepts every connection, reads the request and never answers."""

    def __init__(self) -> None:
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            await reader.read()  # until the sender gives up and closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def fair_conf(db_url: str, healthy: str, hanging: str, delivery: str) -> Any:
    hooks = f"""
[security]
allow_private_targets = true
[clients.acme.webhooks.report]
url = "{healthy}/hook?id={{{{id}}}}"
"""
    for i in range(HANGING_CLIENTS):
        for event in ("report", "call_status"):
            hooks += f'[clients.h{i}.webhooks.{event}]\nurl = "{hanging}/h{i}/{event}"\n'
    return outbound_conf(
        db_url, workers=True, extra=hooks + delivery, dialer=simulated_dialer(step=0.02)
    )


async def seed_backlog(client: Any, per_endpoint: int) -> None:
    """``per_endpoint`` events for every hanging endpoint, due now."""
    now = client.app[appkeys.CLOCK].now()
    found = [
        NewDelivery(
            str(uuid.uuid4()),
            f"msg_{uuid.uuid4().hex}",
            f"h{i}",
            event,
            {"id": f"h{i}-{event}-{n}"},
            now,
            now + timedelta(hours=24),
        )
        for n in range(per_endpoint)
        for i in range(HANGING_CLIENTS)
        for event in ("report", "call_status")
    ]
    async with client.app[appkeys.DB].write() as conn:
        await outbox.enqueue(conn, found)


async def test_hanging_endpoints_of_other_clients_do_not_starve_a_healthy_one(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver, hanging = WebhookReceiver(), HangingReceiver()
    healthy = await start_receiver(aiohttp_server, receiver)
    try:
        delivery = """
[delivery]
timeout_seconds = 1
concurrency = 8
per_endpoint = 2
poll_seconds = 0.05
"""  # the shipped back-off (5 s, doubling) for the hanging endpoints' retries
        client = await make_client(fair_conf(db_url, healthy, await hanging.start(), delivery))
        await seed_backlog(client, BACKLOG)
        await wait_for(lambda: hanging.requests >= 8, timeout=10)  # every slot hangs
        produced: dict[str, float] = {}
        for n in range(20):
            produced[await report(client, n=str(n))] = time.monotonic()
            await asyncio.sleep(0.1)
        await wait_for(lambda: len(receiver.received) >= 20, timeout=30)
        lags = [r.at - produced[r.query["id"]] for r in receiver.received]
        # Before the fix the 480 older hanging events came first: ~60 s at 8 slots of 1 s.
        assert max(lags) < 15, sorted(lags)
        assert {d["state"] for d in await deliveries(client)} == {"delivered"}
    finally:
        hanging.close()


async def metric(client: Any, state: str) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(f'flowhooks_webhook_endpoints{{state="{state}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no endpoints gauge for {state}")


async def backed_off(client: Any) -> list[dict[str, Any]]:
    ready = await client.get("/readyz")
    check = (await ready.json())["checks"]["deliveries"]
    assert check["ok"] is True  # an endpoint in back-off is not this instance's fault
    found: list[dict[str, Any]] = check["backedOff"]
    return found


async def test_a_failing_endpoint_is_backed_off_as_a_whole_then_probed(
    make_client: Any, aiohttp_server: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowhooks.delivery")
    receiver = WebhookReceiver(default=500)
    base = await start_receiver(aiohttp_server, receiver)
    delivery = """
[delivery]
per_endpoint = 1
poll_seconds = 0.05
breaker_failures = 2
"""  # shipped back-off: 5 s, doubling; the clock stands still until the test moves it
    conf = hooks_conf(db_url, base, delivery=delivery)
    client = await make_client(conf, now=NEUTRAL)
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    for n in range(5):
        await report(client, n=str(n))
    await wait_for(lambda: _backed_off_now(client), timeout=10)
    assert len(receiver.received) == 2  # two failures in a row; the other three never tried
    assert await metric(client, "backed_off") == 1 and await metric(client, "failing") == 0
    [entry] = await backed_off(client)
    assert (entry["client"], entry["endpoint"], entry["failures"]) == ("acme", "report", 2)
    assert entry["lastError"] == "HTTP 500"
    first_until = datetime.fromisoformat(entry["until"])
    assert NEUTRAL + timedelta(seconds=2.5) <= first_until <= NEUTRAL + timedelta(seconds=5)
    pending = [d for d in await deliveries(client) if d["attempts"] == 0]
    assert len(pending) == 3 and {d["state"] for d in pending} == {"pending"}

    clock.moment = NEUTRAL + timedelta(seconds=6)  # the back-off is over: one probe
    await wait_for(lambda: len(receiver.received) == 3, timeout=10)
    await wait_for(lambda: _backed_off_now(client), timeout=10)
    [entry] = await backed_off(client)
    again = datetime.fromisoformat(entry["until"])
    assert again - clock.moment >= timedelta(seconds=5)  # twice as long: 5-10 s
    assert len(receiver.received) == 3

    receiver.default = 200
    clock.moment = again + timedelta(seconds=11)  # every event's own retry is due too
    await wait_for(lambda: _all_delivered(client, 5), timeout=15)
    assert await metric(client, "backed_off") == 0 and await metric(client, "failing") == 0
    await wait_for(lambda: _none_backed_off(client), timeout=10)
    said = [r.getMessage() for r in caplog.records if r.name == "flowhooks.delivery"]
    assert said.count("webhook endpoint backed off: its attempts keep failing") == 2
    assert said.count("webhook endpoint answers again") == 1


async def _backed_off_now(client: Any) -> bool:
    return bool(await backed_off(client))


async def _none_backed_off(client: Any) -> bool:
    return not await backed_off(client)


async def _all_delivered(client: Any, count: int) -> bool:
    found = await deliveries(client)
    return len(found) == count and {d["state"] for d in found} == {"delivered"}


# -- the endpoint's health in storage, shared by every process ---------------------------


def _report(failed: bool, was_failing: bool = False, fingerprint: str = "url-1") -> Any:
    return outbox.EndpointReport(
        failed, was_failing, "HTTP 500" if failed else "", fingerprint, Breaker(2), 0.0
    )


async def test_endpoint_health_is_shared_through_the_database(db_url: str) -> None:
    storage = Storage.open(db_url)
    await migrations.upgrade(storage)
    now, endpoint = NEUTRAL, ("acme", "report")
    try:
        async with storage.write() as conn:
            await outbox.enqueue(
                conn,
                [
                    NewDelivery(
                        str(uuid.uuid4()), f"msg_{n}", *endpoint, {}, now, now + timedelta(hours=1)
                    )
                    for n in range(5)
                ],
            )
        lease = now + timedelta(seconds=60)
        one, two, three = await outbox.claim(storage, {endpoint: 3}, "w1", now, lease)
        retry = Decision("pending", now + timedelta(seconds=1), "HTTP 500")
        done = Decision("delivered", None, None)

        first = await outbox.finish(storage, one, "w1", retry, 500, now, report=_report(True))
        assert first == outbox.Finished(ours=True)
        [due] = await outbox.due_endpoints(storage, now)
        assert (due.endpoint, due.due, due.failures) == (endpoint, 2, 1)

        second = await outbox.finish(storage, two, "w1", retry, 500, now, report=_report(True))
        until = second.backed_off_until
        assert until == now + timedelta(seconds=2.5)  # the breaker's least wait of 5 s
        assert await outbox.due_endpoints(storage, now) == []  # backed off as a whole
        [later] = await outbox.due_endpoints(storage, until)
        assert later.failures == 2
        [health] = await outbox.failing_endpoints(storage)
        assert (health.failures, health.backed_off(now), health.backed_off(until)) == (
            2,
            True,
            False,
        )
        assert await outbox.endpoint_counts(storage, now) == {"backed_off": 1, "failing": 0}

        ok = await outbox.finish(storage, three, "w1", done, 200, now, report=_report(False, True))
        assert ok.recovered and await outbox.failing_endpoints(storage) == []

        [four] = await outbox.claim(storage, {endpoint: 1}, "w1", now, lease)
        await outbox.finish(storage, four, "w1", retry, 500, now, report=_report(True))
        give_up = timedelta(hours=1)
        await outbox.enable_changed(storage, {endpoint: "url-1"}, now, give_up)
        assert len(await outbox.failing_endpoints(storage)) == 1  # the same URL: kept
        await outbox.enable_changed(storage, {endpoint: "url-2"}, now, give_up)
        assert await outbox.failing_endpoints(storage) == []  # a new URL starts over
    finally:
        await storage.close()


async def test_the_retry_api_ends_the_endpoints_back_off(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(default=500)
    base = await start_receiver(aiohttp_server, receiver)
    delivery = "[delivery]\npoll_seconds = 0.05\nbreaker_failures = 1\n"
    client = await make_client(hooks_conf(db_url, base, delivery=delivery), now=NEUTRAL)
    async with client.app[appkeys.DB].write() as conn:  # due now, given up at once
        await outbox.enqueue(
            conn, [NewDelivery(str(uuid.uuid4()), "msg_1", "acme", "report", {}, NEUTRAL, NEUTRAL)]
        )
    await wait_for(lambda: _backed_off_now(client), timeout=10)
    [dead] = await deliveries(client)
    assert dead["state"] == "dead"
    receiver.default = 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.post(f"/api/v1/deliveries/{dead['id']}/retry", headers=auth)
    assert resp.status == 200
    # The clock stands still, so only the customer's word can end the back-off.
    await wait_for(lambda: _all_delivered(client, 1), timeout=10)
