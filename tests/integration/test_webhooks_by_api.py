"""Webhooks made through /api/v1/webhooks, end to end against local receivers (issue 25),
on SQLite and PostgreSQL: chosen per call (webhookId, webhookUrl), fanned out otherwise,
basic auth, both signatures in a rotation's grace (verified with ``standardwebhooks``),
deleted endpoints receive nothing more, test events, 410 disables one endpoint."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from flowhooks.clock import FixedClock
from flowhooks.settings import Settings
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from tests.conftest import NEUTRAL
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_webhooks import FAST, SECRET, start_receiver
from tests.outbound_conf import TOKEN, create, outbound_conf, post, simulated_dialer

SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
ONE_OFF_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


def conf(db_url: str, base: str | None = None, extra: str = "") -> Settings:
    """Workers on, the simulated dialer, acme with a config call_status hook at
    ``base``/config (when given) and a webhook_secret for one-off URLs."""
    hook = (
        f'[clients.acme.webhooks.call_status]\nurl = "{base}/config"\nsecret = "{SECRET}"\n'
        if base
        else ""
    )
    return outbound_conf(
        db_url,
        workers=True,
        dialer=simulated_dialer(step=0.02),
        extra=f"""
[security]
allow_private_targets = true
secret_key = "{SECRET_KEY}"
{FAST}
{extra}
{hook}
""",
    )


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def make(client: Any, url: str, **body: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/webhooks", json={"url": url, **body}, headers=auth())
    made: dict[str, Any] = await resp.json()
    assert resp.status == 201, made
    return made


def verify(secret: str, got: Any) -> Any:
    """``standardwebhooks``' own check, without its tolerance of the machine's clock (the
    test's clock is pinned): the package signs, one of the sent signatures must match."""
    msg_id, ts = got.headers["webhook-id"], int(got.headers["webhook-timestamp"])
    expected = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), got.body.decode())
    if expected not in got.headers["webhook-signature"].split(" "):
        raise WebhookVerificationError("No matching signature found")
    return got.json()


async def test_a_call_made_with_a_webhook_id_reports_there_only(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf(db_url, base))
    chosen = await make(client, f"{base}/chosen?call={{{{id}}}}", events=["call_status"])
    other = await make(client, f"{base}/other", events=["call_status"])
    _, keys, _ = await post(client, create("9979746666", webhookId=chosen["webhookId"]))
    call_id = keys["$flow.key.obdPhononUUID"]
    await wait_for(lambda: receiver.received, timeout=10)
    await wait_for(lambda: _settled(client), timeout=10)
    assert [r.path for r in receiver.received] == ["/chosen"]
    got = receiver.received[0]
    assert got.query == {"call": call_id}
    assert verify(chosen["secret"], got)["status"] == "completed"
    with pytest.raises(WebhookVerificationError):
        verify(other["secret"], got)
    listed = await _deliveries(client, webhookId=chosen["webhookId"])
    assert [d["webhookId"] for d in listed] == [chosen["webhookId"]]
    assert listed[0]["url"].startswith(f"{base}/chosen?call=")
    # without a choice: the config hook and every stored endpoint taking call_status
    receiver.received.clear()
    await post(client, create("9979746667"))
    await wait_for(lambda: len(receiver.received) == 3, timeout=10)
    assert sorted(r.path for r in receiver.received) == ["/chosen", "/config", "/other"]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert verify(SECRET, next(r for r in receiver.received if r.path == "/config"))


async def _settled(client: Any) -> bool:
    found = await _deliveries(client)
    return bool(found) and all(d["state"] != "pending" for d in found)


async def _deliveries(client: Any, **params: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/deliveries", params=params, headers=auth())
    assert resp.status == 200, await resp.text()
    found: list[dict[str, Any]] = (await resp.json())["deliveries"]
    return found


async def test_a_one_off_webhook_url_is_signed_with_the_client_secret(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    settings = conf(db_url, base)
    acme = settings.clients["acme"]  # its table is the shared config's: set the key here
    settings.clients["acme"] = acme.model_copy(update={"webhook_secret": SecretStr(ONE_OFF_SECRET)})
    client = await make_client(settings)
    await post(client, create("9979746666", webhookUrl=f"{base}/crm/calls"))
    await wait_for(lambda: receiver.received, timeout=10)
    await wait_for(lambda: _settled(client), timeout=10)
    assert [r.path for r in receiver.received] == ["/crm/calls"]  # not the config hook
    assert verify(ONE_OFF_SECRET, receiver.received[0])["to"] == "+919979746666"


async def test_a_one_off_webhook_url_without_a_secret_is_sent_unsigned(
    make_client: Any, aiohttp_server: Any
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf("sqlite:///:memory:"))
    await post(client, create("9979746666", webhookUrl=f"{base}/crm"))
    await wait_for(lambda: receiver.received, timeout=10)
    got = receiver.received[0]
    assert got.headers["webhook-id"].startswith("msg_") and got.headers["webhook-timestamp"]
    assert "webhook-signature" not in got.headers


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"webhookId": "whk_nobodyhasthisone"}, "webhookId"),
        ({"webhookUrl": "ftp://x.example/"}, "webhookUrl"),
        ({"webhookUrl": "https://x.example/", "webhookId": "whk_x"}, "webhookUrl"),
    ],
)
async def test_a_bad_webhook_choice_is_a_422_naming_it_and_schedules_nothing(
    make_client: Any, keys: dict[str, str], problem: str
) -> None:
    client = await make_client(conf("sqlite:///:memory:"))
    status, answer, body = await post(client, create("9979746666", **keys))
    assert status == 422, body
    assert answer["$flow.key.obdResponseCode"] == "400"
    assert [d["key"] for d in body["error"]["details"]] == [problem]
    async with client.app[appkeys.DB].read() as conn:
        assert (await conn.execute(t.outbound_requests.select())).all() == []


async def test_a_disabled_or_deleted_or_report_only_webhook_cannot_be_chosen(
    make_client: Any,
) -> None:
    client = await make_client(conf("sqlite:///:memory:"))
    off = await make(client, "https://x.example/off", enabled=False)
    reports = await make(client, "https://x.example/r", events=["report"])
    gone = await make(client, "https://x.example/gone")
    await client.delete(f"/api/v1/webhooks/{gone['webhookId']}", headers=auth())
    private = await make(client, "https://x.example/p")
    other = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://x.example/"},
        headers={"Authorization": "Bearer other-token"},
    )
    theirs = (await other.json())["webhookId"]
    for hook, why in (
        (off, "is disabled"),
        (reports, "does not take call_status"),
        (gone, "is not one of"),
        ({"webhookId": theirs}, "is not one of"),
    ):
        status, _, body = await post(client, create("9979746666", webhookId=hook["webhookId"]))
        assert status == 422
        assert why in body["error"]["details"][0]["message"]
    status, _, _ = await post(client, create("9979746666", webhookId=private["webhookId"]))
    assert status == 200


async def test_basic_auth_arrives(make_client: Any, aiohttp_server: Any, db_url: str) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf(db_url))
    await make(
        client,
        f"{base}/basic",
        events=["report"],
        basicAuth={"username": "crm", "password": "pa55:word"},
    )
    resp = await client.post(
        "/webhook", json={"method": "pullreport", "keys": [{"name": "clientID", "value": "acme"}]}
    )
    assert resp.status == 200
    await wait_for(lambda: receiver.received, timeout=10)
    expected = "Basic " + base64.b64encode(b"crm:pa55:word").decode()
    assert receiver.received[0].headers["Authorization"] == expected


async def test_both_signatures_verify_during_a_rotation_and_only_the_new_one_after(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf(db_url), now=NEUTRAL)
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)  # moved by hand below
    made = await make(client, f"{base}/rot", events=["report"])
    hook = f"/api/v1/webhooks/{made['webhookId']}"
    resp = await client.post(
        f"{hook}/secret/rotate", json={"gracePeriodSeconds": 3600}, headers=auth()
    )
    rotated = await resp.json()
    old, new = made["secret"], rotated["secret"]
    until = datetime.fromisoformat(rotated["previousSecretValidUntil"])
    assert until == NEUTRAL + timedelta(hours=1)
    await _pullreport(client)
    await wait_for(lambda: len(receiver.received) == 1, timeout=10)
    during = receiver.received[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(old, during)  # a receiver still on the old secret accepts it
    verify(new, during)  # and one already on the new
    clock.moment = NEUTRAL + timedelta(hours=1, seconds=1)  # the grace is over
    await _pullreport(client)
    await wait_for(lambda: len(receiver.received) == 2, timeout=10)
    after = receiver.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)


async def _pullreport(client: Any) -> None:
    resp = await client.post(
        "/webhook", json={"method": "pullreport", "keys": [{"name": "clientID", "value": "acme"}]}
    )
    assert resp.status == 200, await resp.text()


async def test_a_deleted_webhook_receives_nothing_more(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(down=True)  # away: the first report waits to be retried
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf(db_url))
    made = await make(client, f"{base}/gone", events=["report"])
    await _pullreport(client)
    await wait_for(lambda: _attempted(client), timeout=10)
    resp = await client.delete(f"/api/v1/webhooks/{made['webhookId']}", headers=auth())
    assert resp.status == 204
    receiver.down = False
    await _pullreport(client)  # made after the delete: goes nowhere
    found = await _deliveries(client)
    assert [(d["state"], d["lastError"]) for d in found] == [("dead", "the webhook was deleted")]
    resp = await client.post(f"/api/v1/webhooks/{made['webhookId']}/test", headers=auth())
    assert resp.status == 404
    await wait_for(lambda: client.app[appkeys.DELIVERIES].in_flight == 0, timeout=5)
    assert receiver.received == []


async def _attempted(client: Any) -> bool:
    found = await _deliveries(client)
    return bool(found) and found[0]["attempts"] >= 1 and found[0]["state"] == "pending"


async def test_a_test_event_a_410_and_enabling_again(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver(plan=[410])
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf(db_url, base))
    made = await make(client, f"{base}/api", events=["report", "call_status"])
    hook = f"/api/v1/webhooks/{made['webhookId']}"
    resp = await client.post(hook + "/test", json={"event": "call_status"}, headers=auth())
    sent = await resp.json()
    assert resp.status == 202 and sent["event"] == "call_status" and sent["test"] is True
    await wait_for(lambda: receiver.received, timeout=10)
    assert receiver.received[0].json()["test"] == "true"
    await wait_for(lambda: _settled(client), timeout=10)
    shown = await (await client.get(hook, headers=auth())).json()
    assert shown["enabled"] is False and "410" in shown["disabledReason"]
    assert shown["last24h"]["disabled"] == 1 and shown["lastFailureAt"] is not None
    listed = await _deliveries(client, webhookId=made["webhookId"])
    assert [(d["test"], d["state"]) for d in listed] == [(True, "disabled")]
    # only that endpoint is off: the config hook still gets the client's calls
    await post(client, create("9979746666"))
    await wait_for(lambda: any(r.path == "/config" for r in receiver.received), timeout=10)
    assert [r.path for r in receiver.received].count("/api") == 1
    resp = await client.patch(hook, json={"enabled": True}, headers=auth())
    assert (await resp.json())["enabled"] is True
    await wait_for(lambda: [r.path for r in receiver.received].count("/api") == 2, timeout=10)
    await wait_for(lambda: _all_delivered(client, made["webhookId"]), timeout=10)
    shown = await (await client.get(hook, headers=auth())).json()
    assert shown["last24h"]["delivered"] == 1 and shown["lastSuccessAt"] is not None
    resp = await client.post(hook + "/test", json={"event": "nope"}, headers=auth())
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "event"


async def _all_delivered(client: Any, webhook_id: str) -> bool:
    found = await _deliveries(client, webhookId=webhook_id)
    return bool(found) and all(d["state"] == "delivered" for d in found)


async def test_secrets_never_reach_the_logs(
    make_client: Any, aiohttp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = WebhookReceiver(plan=[500])
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(conf("sqlite:///:memory:"))
    made = await make(
        client, f"{base}/l", events=["report"], basicAuth={"username": "u", "password": "pw-zz-9"}
    )
    resp = await client.post(
        f"/api/v1/webhooks/{made['webhookId']}/secret/rotate", json={}, headers=auth()
    )
    rotated = await resp.json()
    await _pullreport(client)
    await wait_for(lambda: len(receiver.received) == 2, timeout=15)
    text = caplog.text
    for secret in (made["secret"], rotated["secret"], "pw-zz-9", SECRET_KEY):
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    assert "webhook attempt failed" in text  # the log was on


async def test_a_database_from_before_issue_25_is_upgraded(tmp_path: Any) -> None:
    """Migration 12 on a database at version 11 with a delivery in it: the delivery keeps
    its endpoint (its event); the new columns and table exist."""
    from flowhooks.storage import migrations
    from flowhooks.storage.database import Storage

    url = f"sqlite:///{tmp_path}/old.db"
    storage = Storage.open(url)
    try:
        async with storage.write() as conn:
            await conn.run_sync(lambda sync: t.schema_version.create(sync))
        for migration in migrations.MIGRATIONS:
            if migration.version < 12:
                async with storage.write() as conn:
                    await migration.apply(conn)
                    await conn.execute(
                        t.schema_version.insert().values(
                            version=migration.version, description="", applied_at=NEUTRAL
                        )
                    )
        async with storage.write() as conn:  # as version 11 wrote it: no endpoint column
            await conn.exec_driver_sql("DROP INDEX ix_deliveries_target")
            await conn.exec_driver_sql("ALTER TABLE deliveries DROP COLUMN endpoint")
            await conn.exec_driver_sql(
                "INSERT INTO deliveries (id, event_id, client, event, variables, state,"
                " attempts, next_attempt_at, give_up_at, created_at, updated_at)"
                " VALUES ('d1', 'msg_1', 'acme', 'report', '{}', 'pending', 0,"
                " '2026-01-01', '2026-01-02', '2026-01-01', '2026-01-01')"
            )
        assert await migrations.upgrade(storage, now=datetime(2026, 1, 1, tzinfo=UTC)) == [12, 13]
        async with storage.read() as conn:
            row = (await conn.execute(t.deliveries.select())).one()
            assert row.endpoint == "report"
            assert (await conn.execute(t.customer_webhooks.select())).all() == []
    finally:
        await storage.close()


async def test_a_delivery_that_fails_unexpectedly_is_logged_and_its_slot_freed(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug inside one attempt (here: a target that raises) is one ERROR line with its
    stack, not an unretrieved task; the slot is freed and the lease re-sends it later."""
    client = await make_client(conf("sqlite:///:memory:"))
    loop = client.app[appkeys.DELIVERIES]

    async def broken(claimed: Any) -> Any:
        raise RuntimeError("a bug in the delivery path")

    loop._target = broken  # type: ignore[method-assign]  # the seam: any step that raises
    made = await make(client, "https://x.example/hook", events=["report"])
    await client.post(f"/api/v1/webhooks/{made['webhookId']}/test", headers=auth())
    await wait_for(lambda: "webhook delivery failed unexpectedly" in caplog.text, timeout=10)
    await wait_for(lambda: loop.in_flight == 0, timeout=5)
    record = next(r for r in caplog.records if r.getMessage().startswith("webhook delivery"))
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert (await _deliveries(client))[0]["state"] == "pending"  # its lease re-sends it
