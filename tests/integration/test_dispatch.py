"""The dispatching pipeline end to end: createOutbound, dispatcher, dialers, callbacks, API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowhooks.clock import FixedClock
from flowhooks.integrations.startcall import StartcallDialer
from flowhooks.outbound.model import Pace
from flowhooks.storage import outbound as store
from flowhooks.web import keys as appkeys
from flowhooks.workers.dispatcher import Dispatcher
from tests.conftest import ClientFactory
from tests.fakes import FakeCallProvider, wait_for
from tests.outbound_conf import (
    OTHER_TOKEN,
    TOKEN,
    create,
    outbound_conf,
    post,
    simulated_dialer,
    startcall_dialer,
    view,
)

NOON = datetime.fromisoformat("2026-11-21T12:00:00+05:30")  # inside the calling window
FIXTURES = Path(__file__).parent.parent / "fixtures" / "callbacks"
BASIC = "Basic " + base64.b64encode(b"cb-user:cb-pass").decode()


def payload(name: str, **values: str) -> bytes:
    text = (FIXTURES / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text.encode()


async def states(client: Any, req_id: str) -> list[str]:
    return [c["state"] for c in (await view(client, req_id))["calls"]]


async def schedule_one(client: Any) -> tuple[FixedClock, str]:
    """One call scheduled by createOutbound: the app's fixed clock and the obdReqID."""
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    _, keys, _ = await post(client, create("9979746666"))
    return clock, keys["$flow.key.obdReqID"]


async def wait_states(client: Any, req: str, expected: list[str], timeout: float = 10) -> None:
    """Wait until the request's calls are in ``expected`` states, in order."""

    async def reached() -> bool:
        return await states(client, req) == expected

    await wait_for(reached, timeout=timeout)


@pytest.fixture
async def provider(aiohttp_server: Any) -> tuple[FakeCallProvider, str]:
    fake = FakeCallProvider()
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


async def test_simulated_calls_go_queued_dialing_initiated_completed(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url, workers=True, dialer=simulated_dialer()))
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]

    await wait_states(client, req, ["completed"], timeout=10)
    call = (await view(client, req))["calls"][0]
    moves = [(h["fromState"], h["toState"]) for h in call["history"] if h["kind"] == "state"]
    assert moves == [
        (None, "queued"),
        ("queued", "dialing"),
        ("dialing", "initiated"),
        ("initiated", "completed"),
    ]
    assert (
        call["attempts"][0]["outcome"] == "completed" and call["endCallReason"] == "human_goodbye"
    )


async def test_busy_is_retried_after_retry_minutes_up_to_max_attempts(
    make_client: ClientFactory, db_url: str
) -> None:
    conf = outbound_conf(db_url, workers=True, dialer=simulated_dialer("{ busy = 1.0 }"))
    client = await make_client(conf, now=NOON)
    clock, req = await schedule_one(client)

    async def requeued() -> bool:
        call = (await view(client, req))["calls"][0]
        return (
            call["state"] == "queued"
            and call["attempts"]
            and call["attempts"][0]["outcome"] == "busy"
        )

    await wait_for(requeued)
    call = (await view(client, req))["calls"][0]
    assert call["dueAt"] == (NOON + timedelta(minutes=30)).isoformat().replace(
        "+05:30", "+00:00"
    ).replace("12:30", "07:00")
    clock.moment = NOON + timedelta(minutes=31)
    client.app[appkeys.OUTBOUND].wake_dispatcher()

    await wait_states(client, req, ["busy"])
    call = (await view(client, req))["calls"][0]
    assert [a["outcome"] for a in call["attempts"]] == ["busy", "busy"]  # max_attempts = 2


async def test_startcall_dials_each_call_once_and_callbacks_finish_it(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    client = await make_client(outbound_conf(db_url, workers=True, dialer=startcall_dialer(base)))
    _, keys, _ = await post(client, create("9979746666, 9979746667"))
    req = keys["$flow.key.obdReqID"]

    await wait_states(client, req, ["initiated", "initiated"])
    assert fake.dialed() == {"+919979746666": 1, "+919979746667": 1}
    calls = (await view(client, req))["calls"]
    ours, theirs = calls[0]["id"], calls[1]["providerCallId"]
    # unifonic by our id (referenceId), with basic auth
    body = payload("unifonic_outbound_ivr.json", call_id=ours, provider_id="unrelated")
    resp = await client.post("/callbacks/unifonic", data=body)
    assert resp.status == 401
    resp = await client.post("/callbacks/unifonic", data=body, headers={"Authorization": BASIC})
    assert (resp.status, (await resp.json())["state"]) == (200, "completed")
    again = await client.post("/callbacks/unifonic", data=body, headers={"Authorization": BASIC})
    assert (await again.json())["duplicate"] is True
    # voiceai by the provider's id
    resp = await client.post("/callbacks/voiceai", data=payload("voiceai.json", provider_id=theirs))
    assert (await resp.json())["state"] == "completed"
    calls = (await view(client, req))["calls"]
    assert calls[1]["endCallReason"] == "agent_goodbye"
    assert calls[1]["attempts"][0]["duration"] == 32
    raw = [h["raw"] for h in calls[0]["history"] if h["kind"] == "callback"]
    assert len(raw) == 1 and raw[0]["referenceId"] == ours  # the payload is kept, once
    assert fake.dialed() == {"+919979746666": 1, "+919979746667": 1}


async def test_callbacks_out_of_order_case_insensitive_and_bad_input(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    client = await make_client(outbound_conf(db_url, workers=True, dialer=startcall_dialer(base)))
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]
    await wait_for(lambda: len(fake.calls) == 1)

    await wait_states(client, req, ["initiated"])
    call_id = (await view(client, req))["calls"][0]["id"]
    c2c = json.loads(payload("click2call.json", call_id=call_id))
    resp = await client.post("/callbacks/c2c", json={**c2c, "status": "answer"})
    assert (await resp.json())["state"] == "completed"
    resp = await client.post("/callbacks/c2c", json={**c2c, "status": "INITIATED", "duration": "1"})
    assert (resp.status, (await resp.json())["state"]) == (200, "completed")  # never moves back
    history = (await view(client, req))["calls"][0]["history"]
    assert [h["detail"] for h in history if h["kind"] == "callback"] == ["answer", "INITIATED"]
    resp = await client.post("/callbacks/c2c", json={**c2c, "mid": "no-such-call"})
    assert resp.status == 404
    resp = await client.post("/callbacks/c2c", data=b"{not json")
    assert resp.status == 400
    resp = await client.post("/callbacks/c2c", json={"mid": call_id})
    assert resp.status == 400
    resp = await client.post("/callbacks/nobody", json=c2c)
    assert resp.status == 404


async def test_a_5xx_is_retried_with_backoff_without_burning_an_attempt(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    fake.plan = [500]
    client = await make_client(
        outbound_conf(db_url, workers=True, dialer=startcall_dialer(base)), now=NOON
    )
    clock, req = await schedule_one(client)

    async def backed_off() -> bool:
        call = (await view(client, req))["calls"][0]
        return call["state"] == "queued" and call["lastError"] == "call API answered HTTP 500"

    await wait_for(backed_off)
    assert (await view(client, req))["calls"][0]["attempts"] == []
    clock.moment = NOON + timedelta(seconds=5)
    client.app[appkeys.OUTBOUND].wake_dispatcher()

    await wait_states(client, req, ["initiated"])
    call = (await view(client, req))["calls"][0]
    assert [a["attempt"] for a in call["attempts"]] == [1]
    assert len(fake.calls) == 1  # the 500 placed no call


async def test_a_dead_workers_call_is_settled_and_never_resent(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    client = await make_client(outbound_conf(db_url, workers=False), now=NOON)
    _, keys, _ = await post(client, create("9979746666"))
    outbound = client.app[appkeys.OUTBOUND]
    lease = NOON + timedelta(seconds=60)
    claimed = await store.claim(
        outbound.db, "acme", Pace(1000, 1000, 10), "dead-worker", NOON, lease
    )
    assert len(claimed) == 1  # ... and that worker dies mid-dial
    conf = outbound_conf(db_url, dialer=startcall_dialer(base))
    async with aiohttp.ClientSession() as session:
        clock = FixedClock(NOON + timedelta(seconds=30))
        dialer = StartcallDialer(conf.dialer.options(), session)
        dispatcher = Dispatcher(conf, outbound, dialer, clock)
        assert await dispatcher.turn() == 0  # the lease still runs: untouched
        clock.moment = NOON + timedelta(seconds=61)
        await dispatcher.turn()
        await dispatcher.drain()
    call = (await view(client, keys["$flow.key.obdReqID"]))["calls"][0]
    assert call["state"] == "queued"
    assert call["attempts"][0]["endCallReason"] == "unknown_outcome"
    expected_due = NOON + timedelta(seconds=61, minutes=30)  # the retry policy, not at once
    assert call["dueAt"] == expected_due.astimezone(UTC).isoformat()
    assert fake.calls == []


async def test_max_concurrent_calls_paces_a_client(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    extra_client = "\n".join(
        line.replace("max_concurrent_calls = 1000", "max_concurrent_calls = 2") for line in [""]
    )
    conf = outbound_conf(db_url, workers=True, dialer=startcall_dialer(base), extra=extra_client)
    acme = conf.clients["acme"].model_copy(update={"max_concurrent_calls": 2})
    conf = conf.model_copy(update={"clients": {**conf.clients, "acme": acme}})
    client = await make_client(conf)
    _, keys, _ = await post(
        client, create("9979746661, 9979746662, 9979746663, 9979746664, 9979746665")
    )
    req = keys["$flow.key.obdReqID"]
    await wait_for(lambda: len(fake.calls) == 2)
    dispatcher = client.app[appkeys.DISPATCHER]
    for _ in range(3):  # more turns claim nothing while two calls are live
        assert await dispatcher.turn() == 0
    assert sorted(await states(client, req)) == ["initiated"] * 2 + ["queued"] * 3
    first = next(c["id"] for c in (await view(client, req))["calls"] if c["state"] == "initiated")
    c2c = json.loads(payload("click2call.json", call_id=first))
    await client.post("/callbacks/c2c", json=c2c)  # one ends: room for one more
    await wait_for(lambda: len(fake.calls) == 3)


async def test_outbound_api_view_and_cancel(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(outbound_conf(db_url, workers=False), now=NOON)
    _, keys, _ = await post(client, create("9979746666, 9979746667"))
    req = keys["$flow.key.obdReqID"]
    assert (await client.get(f"/api/v1/outbound/{req}")).status == 401
    other = await client.get(
        f"/api/v1/outbound/{req}", headers={"Authorization": f"Bearer {OTHER_TOKEN}"}
    )
    assert other.status == 404
    resp = await client.delete(
        f"/api/v1/outbound/{req}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    body = await resp.json()
    assert resp.status == 200 and len(body["cancelled"]) == 2 and body["notCancelled"] == []
    assert await states(client, req) == ["cancelled", "cancelled"]
    history = (await view(client, req))["calls"][0]["history"]
    assert history[-1]["kind"] == "cancel"
    resp = await client.delete(
        "/api/v1/outbound/nope", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert resp.status == 404


async def test_metrics_show_queue_depths(make_client: ClientFactory) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:", workers=False), now=NOON)
    await post(client, create("9979746666, 9979746667"))
    text = await (await client.get("/metrics")).text()
    assert 'flowhooks_outbound_calls{state="queued"} 2.0' in text
    assert "flowhooks_dispatch_lag_seconds_bucket" in text


async def test_a_call_with_no_final_status_is_settled_without_retry(
    make_client: ClientFactory, db_url: str, provider: Any
) -> None:
    fake, base = provider
    client = await make_client(
        outbound_conf(db_url, workers=True, dialer=startcall_dialer(base)), now=NOON
    )
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]

    await wait_states(client, req, ["initiated"])
    dispatcher = client.app[appkeys.DISPATCHER]
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = NOON + timedelta(minutes=59)
    await dispatcher.turn()
    assert await states(client, req) == ["initiated"]
    clock.moment = NOON + timedelta(minutes=61)
    await dispatcher.turn()
    call = (await view(client, req))["calls"][0]
    assert (call["state"], call["endCallReason"]) == ("failed", "no_final_status")
    assert call["attempts"][0]["outcome"] == "failed"
    clock.moment = NOON + timedelta(hours=5)
    await dispatcher.turn()
    assert await states(client, req) == ["failed"] and len(fake.calls) == 1  # never re-dialed


async def test_a_provider_callback_sends_the_call_status_webhook(
    make_client: ClientFactory, db_url: str, provider: Any, aiohttp_server: Any
) -> None:
    """The webhook of an HTTP callback's outcome: the same path as the simulator's."""
    from tests.fakes import WebhookReceiver

    receiver = WebhookReceiver()
    hook_server = await aiohttp_server(receiver.app())
    _fake, base = provider
    extra = f"""
[security]
allow_private_targets = true
[clients.acme.webhooks.call_status]
url = "{hook_server.make_url("/hook")}"
[delivery]
poll_seconds = 0.05
"""
    conf = outbound_conf(db_url, workers=True, dialer=startcall_dialer(base), extra=extra)
    client = await make_client(conf)
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]
    await wait_states(client, req, ["initiated"])
    ours = (await view(client, req))["calls"][0]["id"]
    body = payload("unifonic_outbound_ivr.json", call_id=ours, provider_id="unrelated")
    resp = await client.post("/callbacks/unifonic", data=body, headers={"Authorization": BASIC})
    assert resp.status == 200
    await wait_for(lambda: receiver.received)
    event = receiver.received[0].json()
    assert (event["id"], event["status"], event["final"]) == (ours, "completed", "true")
    assert event["duration"] != "" and event["start_at"] != ""
    again = await client.post("/callbacks/unifonic", data=body, headers={"Authorization": BASIC})
    assert (await again.json())["duplicate"] is True
    assert len(receiver.received) == 1  # a repeated callback sends nothing more


@pytest.mark.parametrize("duration", ["inf", "1e400", "9223372036854775808", -5, "nan"])
async def test_a_hostile_callback_still_records_the_final_status(
    make_client: ClientFactory, db_url: str, provider: Any, duration: Any
) -> None:
    """A duration no column holds, a 500-character reason and control characters cost
    the payload its odd fields, never the call's final status (issue 13)."""
    _, base = provider
    client = await make_client(outbound_conf(db_url, workers=True, dialer=startcall_dialer(base)))
    _, keys, _ = await post(client, create("9979746666"))
    req = keys["$flow.key.obdReqID"]
    await wait_states(client, req, ["initiated"])
    call_id = (await view(client, req))["calls"][0]["id"]
    c2c = json.loads(payload("click2call.json", call_id=call_id))
    hostile = {**c2c, "status": "answer\u0000", "duration": duration, "recording_url": "x\u0000y"}
    resp = await client.post("/callbacks/c2c", json=hostile)
    assert (resp.status, (await resp.json())["state"]) == (200, "completed")
    call = (await view(client, req))["calls"][0]
    assert call["state"] == "completed"
    assert call["attempts"][0]["duration"] is None
    assert call["attempts"][0]["recordingUrl"] == "xy"
