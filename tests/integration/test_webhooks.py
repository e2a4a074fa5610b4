"""Customer webhooks end to end, on SQLite and PostgreSQL: events into the outbox, the
delivery loop over real HTTP to a local receiver, the outbox API (SPEC 2.4)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from flowhooks.settings import Settings
from tests.conftest import answer_keys, envelope
from tests.fakes import WebhookReceiver, wait_for
from tests.outbound_conf import OTHER_TOKEN, TOKEN, create, outbound_conf, post, simulated_dialer

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
FAST = """
[delivery]
timeout_seconds = 1
initial_backoff_seconds = 0.05
max_backoff_seconds = 0.2
poll_seconds = 0.05
"""


def hooks_conf(
    db_url: str,
    base: str,
    *,
    delivery: str = FAST,
    body: str | None = None,
    private: bool = True,
    event: str = "report",
    url: str | None = None,
) -> Settings:
    hook = f"""
[security]
allow_private_targets = {str(private).lower()}
[clients.acme.webhooks.{event}]
url = "{url or base + "/hook?id={{id}}&status={{status}}"}"
headers = {{ Authorization = "Bearer rcv-token", X-Call = "{{{{id}}}}" }}
secret = "{SECRET}"
"""
    if body is not None:
        hook += f"body = '{body}'\n"
    return outbound_conf(
        db_url, workers=True, extra=hook + delivery, dialer=simulated_dialer(step=0.02)
    )


async def start_receiver(aiohttp_server: Any, receiver: WebhookReceiver) -> str:
    server = await aiohttp_server(receiver.app())
    return str(server.make_url("")).rstrip("/")


async def report(client: Any, now: str | None = None, **keys: Any) -> str:
    """pullreport for acme (at ``now`` through X-Flowhooks-Now when given); its reportId."""
    headers = {"X-Flowhooks-Now": now} if now else {}
    resp = await client.post(
        "/webhook", json=envelope("pullreport", clientID="acme", **keys), headers=headers
    )
    assert resp.status == 200, await resp.text()
    return answer_keys(await resp.json())["$flow.key.reportId"]


async def deliveries(client: Any, token: str = TOKEN, **params: str) -> list[dict[str, Any]]:
    resp = await client.get(
        "/api/v1/deliveries", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 200, await resp.text()
    found: list[dict[str, Any]] = (await resp.json())["deliveries"]
    return found


async def states(client: Any) -> list[str]:
    return [d["state"] for d in await deliveries(client)]


# -- events, templates, signature ------------------------------------------------------


async def test_call_status_is_delivered_signed_with_every_variable(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base, event="call_status"))
    _, keys, _ = await post(client, create("9979746666", referenceId="ref-7", email="a@b.in"))
    call_id = keys["$flow.key.obdPhononUUID"]
    await wait_for(lambda: receiver.received, timeout=10)
    got = receiver.received[0]
    event = got.json()
    assert event["id"] == call_id and event["status"] == "completed"
    assert event["request_id"] == keys["$flow.key.obdReqID"] and event["to"] == "+919979746666"
    assert (event["attempt"], event["final"], event["reference_id"], event["email"]) == (
        "1",
        "true",
        "ref-7",
        "a@b.in",
    )
    assert set(event) == {
        "id", "request_id", "to", "from", "status", "attempt", "final", "duration",
        "start_at", "end_at", "recording_url", "end_call_reason", "reference_id", "email",
    }  # fmt: skip
    datetime.strptime(event["start_at"], "%Y-%m-%d %H:%M:%S")  # seeds/001's format
    assert got.path == "/hook" and got.query == {"id": call_id, "status": "completed"}
    assert got.headers["Authorization"] == "Bearer rcv-token"
    assert got.headers["X-Call"] == call_id
    assert got.headers["User-Agent"].startswith("flowhooks/")
    assert got.headers["Content-Type"] == "application/json"
    ts = int(got.headers["webhook-timestamp"])
    expected = Webhook(SECRET).sign(
        got.headers["webhook-id"], datetime.fromtimestamp(ts, UTC), got.body.decode()
    )
    assert got.headers["webhook-signature"] == expected
    await wait_for(lambda: _delivered(client), timeout=5)
    listed = (await deliveries(client))[0]
    assert listed["eventId"] == got.headers["webhook-id"] and listed["attempts"] == 1
    assert listed["lastStatus"] == 200 and listed["deliveredAt"]


async def _delivered(client: Any) -> bool:
    return await states(client) == ["delivered"]


async def test_a_body_template_is_filled_json_escaped(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    body = '{"rid": "{{id}}", "who": "{{client}}", "note": "{{note}}", "x": "{{missing}}"}'
    client = await make_client(hooks_conf(db_url, base, body=body))
    rid = await report(client, note='he said "no"\\ \n', cli="9979746666")
    await wait_for(lambda: receiver.received, timeout=10)
    assert receiver.received[0].json() == {
        "rid": rid,
        "who": "acme",
        "note": 'he said "no"\\ \n',
        "x": "",
    }


async def test_cancelled_calls_send_a_final_call_status(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base, event="call_status"))
    _, keys, _ = await post(client, create("9979746666", **{"$flow.key.delayMinutes": "60"}))
    req_id = keys["$flow.key.obdReqID"]
    resp = await client.delete(
        f"/api/v1/outbound/{req_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert resp.status == 200
    await wait_for(lambda: receiver.received, timeout=10)
    event = receiver.received[0].json()
    assert (event["status"], event["final"], event["attempt"]) == ("cancelled", "true", "1")


async def test_a_retried_call_sends_each_attempt_outcome(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    dialer = simulated_dialer(outcomes="{ busy = 1.0 }", step=0.02)
    conf = outbound_conf(
        db_url,
        workers=True,
        extra=f"""
[security]
allow_private_targets = true
[clients.acme.webhooks.call_status]
url = "{base}/hook"
{FAST}""",
        dialer=dialer,
    )
    client = await make_client(conf)
    await post(client, create("9979746666"))
    await wait_for(lambda: receiver.received, timeout=10)
    first = receiver.received[0].json()
    assert (first["status"], first["attempt"], first["final"]) == ("busy", "1", "false")


# -- the retry rules over HTTP ----------------------------------------------------------


async def test_500_then_200_is_delivered_with_the_same_webhook_id(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(plan=[500, 500])
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    await report(client, cli="1")
    await wait_for(lambda: _delivered(client), timeout=10)
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    assert (await deliveries(client))[0]["attempts"] == 3


@pytest.mark.parametrize("status", [201, 204, 302])
async def test_201_204_and_redirects_do_not_count(
    make_client: Any, aiohttp_server: Any, db_url: str, status: int
) -> None:
    plan: list[Any] = [(status, {"Location": "http://127.0.0.1:9/elsewhere"})]
    receiver = WebhookReceiver(plan=plan)
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    await report(client)
    await wait_for(lambda: _delivered(client), timeout=10)
    assert len(receiver.received) == 2  # the 2xx/3xx, then the 200 (no redirect followed)
    assert all(r.path == "/hook" for r in receiver.received)


async def test_429_with_retry_after_sets_the_next_attempt(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(plan=[(429, {"Retry-After": "1"})])
    base = await start_receiver(aiohttp_server, receiver)
    delivery = FAST.replace("max_backoff_seconds = 0.2", "max_backoff_seconds = 5")
    client = await make_client(hooks_conf(db_url, base, delivery=delivery))
    await report(client)
    await wait_for(lambda: len(receiver.received) == 2, timeout=10)
    gap = receiver.received[1].at - receiver.received[0].at
    assert 0.9 <= gap < 3.0  # the receiver's 1 s, not the 0.05 s backoff


async def test_410_disables_the_endpoint_until_enabled(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(plan=[410])
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    await report(client, n="1")
    await wait_for(lambda: _states_are(client, ["disabled"]), timeout=10)
    await report(client, n="2")  # a later event waits too
    await wait_for(lambda: _states_are(client, ["disabled", "disabled"]), timeout=5)
    assert len(receiver.received) == 1
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.post("/api/v1/webhooks/report/enable", headers=auth)
    assert resp.status == 200 and (await resp.json())["requeued"] == 2
    await wait_for(lambda: _states_are(client, ["delivered", "delivered"]), timeout=10)
    assert [r.json()["n"] for r in receiver.received[1:]] == ["1", "2"]
    other = await client.post(
        "/api/v1/webhooks/call_status/enable", headers=auth
    )  # not configured for acme
    assert other.status == 404


async def _states_are(client: Any, expected: list[str]) -> bool:
    return await states(client) == expected


async def test_a_timeout_is_retried(make_client: Any, aiohttp_server: Any, db_url: str) -> None:
    receiver = WebhookReceiver(plan=["hang"], hang_seconds=3)
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    await report(client)
    await wait_for(lambda: _delivered(client), timeout=10)
    assert len(receiver.received) == 2


async def test_give_up_makes_it_dead_and_the_retry_api_sends_it_again(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(default=500)
    base = await start_receiver(aiohttp_server, receiver)
    delivery = FAST + "give_up_hours = 0.0003\n"  # about a second
    client = await make_client(hooks_conf(db_url, base, delivery=delivery))
    await report(client)
    await wait_for(lambda: _states_are(client, ["dead"]), timeout=10)
    dead = (await deliveries(client, status="dead"))[0]
    assert "gave up" in dead["lastError"] and dead["lastStatus"] == 500
    tries = len(receiver.received)
    assert tries >= 2
    receiver.default = 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.post(f"/api/v1/deliveries/{dead['id']}/retry", headers=auth)
    assert resp.status == 200 and (await resp.json())["was"] == "dead"
    await wait_for(lambda: _delivered(client), timeout=10)
    assert len(receiver.received) == tries + 1
    again = await client.post(f"/api/v1/deliveries/{dead['id']}/retry", headers=auth)
    assert again.status == 409


async def test_events_to_one_endpoint_are_attempted_in_order(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    delivery = FAST + "per_endpoint = 1\n"
    client = await make_client(hooks_conf(db_url, base, delivery=delivery))
    ids = [await report(client, n=str(i)) for i in range(20)]
    await wait_for(lambda: len(receiver.received) == 20, timeout=15)
    assert [r.query["id"] for r in receiver.received] == ids


# -- the API: tenancy, auth, paging ------------------------------------------------------


async def test_deliveries_api_is_per_client_and_needs_a_token(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    for i in range(5):
        await report(client, n=str(i))
    await wait_for(lambda: len(receiver.received) == 5, timeout=10)
    assert (await client.get("/api/v1/deliveries")).status == 401
    bad = await client.get("/api/v1/deliveries", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401
    assert await deliveries(client, token=OTHER_TOKEN) == []
    mine = await deliveries(client)
    other = await client.post(
        f"/api/v1/deliveries/{mine[0]['id']}/retry",
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    )
    assert other.status == 404
    page1 = await client.get(
        "/api/v1/deliveries", params={"limit": "2"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    doc = await page1.json()
    seen = [d["id"] for d in doc["deliveries"]]
    while doc["nextCursor"]:
        resp = await client.get(
            "/api/v1/deliveries",
            params={"limit": "2", "cursor": doc["nextCursor"]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        doc = await resp.json()
        seen += [d["id"] for d in doc["deliveries"]]
    assert sorted(seen) == sorted(d["id"] for d in mine) and len(seen) == 5
    for params, name in (
        ({"status": "gone"}, "status"),
        ({"event": "x"}, "event"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
    ):
        resp = await client.get(
            "/api/v1/deliveries", params=params, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert resp.status == 400 and (await resp.json())["error"]["parameter"] == name


async def test_metrics_and_readyz_show_the_delivery_loop(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(plan=[500])
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    await report(client)
    await wait_for(lambda: _delivered(client), timeout=10)
    text = await (await client.get("/metrics")).text()
    assert 'flowhooks_webhook_deliveries{state="delivered"} 1.0' in text
    assert 'flowhooks_webhook_attempts_total{outcome="retry"} 1.0' in text
    assert 'flowhooks_webhook_attempts_total{outcome="delivered"} 1.0' in text
    ready = await (await client.get("/readyz")).json()
    assert ready["checks"]["deliveries"]["ok"] is True


# -- SSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "localhost"])
async def test_a_private_target_is_dead_at_once_and_never_contacted(
    make_client: Any, aiohttp_server: Any, db_url: str, host: str
) -> None:
    receiver = WebhookReceiver()
    server = await aiohttp_server(receiver.app())
    url = f"http://{host}:{server.port}/hook"
    client = await make_client(hooks_conf(db_url, "", private=False, url=url))
    await report(client)
    await wait_for(lambda: _states_are(client, ["dead"]), timeout=10)
    dead = (await deliveries(client))[0]
    assert dead["lastError"] == "forbidden_target" and dead["attempts"] == 1
    assert receiver.received == []
