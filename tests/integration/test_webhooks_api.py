"""Webhooks customers manage through /api/v1/webhooks (issue 25), on SQLite and
PostgreSQL: create, list, read, change, delete, rotate; tenancy; every 422 names its
field; secrets never answered after create/rotate and never stored in clear."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from flowhooks.settings import Settings
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from tests.outbound_conf import OTHER_TOKEN, TOKEN, outbound_conf

SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
GIVEN_SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def api_conf(db_url: str, extra: str = "", key: str | None = SECRET_KEY) -> Settings:
    security = f'[security]\nsecret_key = "{key}"\n' if key else ""
    return outbound_conf(db_url, extra=security + extra)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make(client: Any, token: str = TOKEN, **body: Any) -> tuple[int, dict[str, Any]]:
    body.setdefault("url", "https://hooks.example.com/flowhooks?call={{id}}")
    resp = await client.post("/api/v1/webhooks", json=body, headers=auth(token))
    return resp.status, await resp.json()


async def test_create_list_get_patch_delete(make_client: Any, db_url: str) -> None:
    client = await make_client(api_conf(db_url))
    status, made = await make(
        client,
        description="CRM",
        basicAuth={"username": "crm", "password": "pa55-word-x"},
        headers={"X-Call": "{{id}}", "Authorization": "Bearer crm-token-x"},
        body='{"call": "{{id}}", "status": "{{status}}"}',
        events=["call_status"],
    )
    assert status == 201, made
    hook_id = made["webhookId"]
    assert hook_id.startswith("whk_")
    assert made["secret"].startswith("whsec_")
    assert made["events"] == ["call_status"]
    assert made["basicAuth"] == {"username": "crm", "password": "***"}
    assert made["headers"] == {"X-Call": "{{id}}", "Authorization": "***"}
    assert made["enabled"] is True and made["createdAt"] and made["updatedAt"]

    listed = await (await client.get("/api/v1/webhooks", headers=auth())).json()
    assert [w["webhookId"] for w in listed["webhooks"]] == [hook_id]
    got = await client.get(f"/api/v1/webhooks/{hook_id}", headers=auth())
    shown = await got.json()
    assert got.status == 200 and "secret" not in shown and "secret" not in listed["webhooks"][0]
    assert shown["description"] == "CRM"

    resp = await client.patch(
        f"/api/v1/webhooks/{hook_id}",
        json={"enabled": False, "description": "CRM v2", "basicAuth": None},
        headers=auth(),
    )
    changed = await resp.json()
    assert resp.status == 200, changed
    assert changed["enabled"] is False and changed["description"] == "CRM v2"
    assert changed["basicAuth"] is None and changed["url"] == made["url"]

    resp = await client.delete(f"/api/v1/webhooks/{hook_id}", headers=auth())
    assert resp.status == 204
    assert (await client.get(f"/api/v1/webhooks/{hook_id}", headers=auth())).status == 404
    assert (await client.delete(f"/api/v1/webhooks/{hook_id}", headers=auth())).status == 404


async def test_defaults_and_given_secret(make_client: Any, db_url: str) -> None:
    client = await make_client(api_conf(db_url))
    status, made = await make(client, secret=GIVEN_SECRET)
    assert status == 201, made
    assert made["secret"] == GIVEN_SECRET
    assert made["events"] == ["call_status", "report"]
    assert made["body"] is None and made["headers"] == {} and made["description"] == ""


async def test_another_clients_webhook_is_a_404(make_client: Any, db_url: str) -> None:
    client = await make_client(api_conf(db_url))
    _, made = await make(client)
    hook = f"/api/v1/webhooks/{made['webhookId']}"
    other = auth(OTHER_TOKEN)
    assert (await client.get(hook, headers=other)).status == 404
    assert (await client.patch(hook, json={"enabled": False}, headers=other)).status == 404
    assert (await client.delete(hook, headers=other)).status == 404
    assert (await client.post(f"{hook}/secret/rotate", json={}, headers=other)).status == 404
    listed = await (await client.get("/api/v1/webhooks", headers=other)).json()
    assert listed == {"webhooks": []}
    assert (await client.get(hook, headers=auth())).status == 200
    assert (await client.get("/api/v1/webhooks")).status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.example/"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "https://{{id}}.example/"}, "url"),
        ({"url": "https://x.example/" + "a" * 2100}, "url"),
        ({"url": "http://127.0.0.1:9/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest"}, "url"),
        ({"url": "http://[::1]/x"}, "url"),
        ({"url": "http://10.1.2.3/x"}, "url"),
        ({"url": "https://x.example/", "events": ["call_status", "nope"]}, "events"),
        ({"url": "https://x.example/", "events": []}, "events"),
        ({"url": "https://x.example/", "body": '{"a": {{id}}}'}, "body"),
        ({"url": "https://x.example/", "headers": {"Bad Name": "x"}}, "headers"),
        ({"url": "https://x.example/", "headers": {"webhook-signature": "x"}}, "headers"),
        ({"url": "https://x.example/", "basicAuth": {"username": "a"}}, "basicAuth"),
        (
            {"url": "https://x.example/", "basicAuth": {"username": "a:b", "password": "p"}},
            "basicAuth.username",
        ),
        ({"url": "https://x.example/", "secret": "whsec_!!"}, "secret"),
        ({"url": "https://x.example/", "enabled": "yes"}, "enabled"),
        ({"url": "https://x.example/", "colour": "red"}, "colour"),
        ({"events": ["report"]}, "url"),
    ],
)
async def test_422_names_the_field(make_client: Any, body: dict[str, Any], field: str) -> None:
    client = await make_client(api_conf("sqlite:///:memory:"))
    resp = await client.post("/api/v1/webhooks", json=body, headers=auth())
    answer = await resp.json()
    assert resp.status == 422, answer
    assert answer["error"]["field"] == field
    assert answer["error"]["message"].startswith(f"{field}:")


async def test_patch_422s_and_no_secret_by_patch(make_client: Any) -> None:
    client = await make_client(api_conf("sqlite:///:memory:"))
    _, made = await make(client, body='{"id": "{{id}}"}')
    hook = f"/api/v1/webhooks/{made['webhookId']}"
    for body, field in (
        ({"secret": GIVEN_SECRET}, "secret"),
        ({"url": "http://127.0.0.1/x"}, "url"),
        ({"body": "not json {{id}}"}, "body"),
    ):
        resp = await client.patch(hook, json=body, headers=auth())
        assert resp.status == 422
        assert (await resp.json())["error"]["field"] == field


async def test_private_targets_allowed_by_config(make_client: Any) -> None:
    conf = api_conf("sqlite:///:memory:", extra="allow_private_targets = true\n")
    client = await make_client(conf)
    status, made = await make(client, url="http://127.0.0.1:9/hook")
    assert status == 201, made


async def test_at_most_max_endpoints_per_client(make_client: Any, db_url: str) -> None:
    client = await make_client(api_conf(db_url, extra="[delivery]\nmax_endpoints_per_client = 2\n"))
    assert (await make(client))[0] == 201
    assert (await make(client))[0] == 201
    status, answer = await make(client)
    assert status == 409 and answer["error"]["code"] == "LIMIT_REACHED"
    assert (await make(client, token=OTHER_TOKEN))[0] == 201  # per client


async def test_without_a_secret_key_no_endpoint_is_made(make_client: Any) -> None:
    client = await make_client(api_conf("sqlite:///:memory:", key=None))
    status, answer = await make(client)
    assert status == 503
    assert "secret_key" in answer["error"]["message"]
    listed = await (await client.get("/api/v1/webhooks", headers=auth())).json()
    assert listed == {"webhooks": []}


async def test_rotate_answers_a_new_secret_and_the_grace(make_client: Any, db_url: str) -> None:
    client = await make_client(api_conf(db_url))
    _, made = await make(client)
    hook = f"/api/v1/webhooks/{made['webhookId']}"
    resp = await client.post(
        f"{hook}/secret/rotate", json={"gracePeriodSeconds": 60}, headers=auth()
    )
    rotated = await resp.json()
    assert resp.status == 200, rotated
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["previousSecretValidUntil"] is not None
    resp = await client.post(
        f"{hook}/secret/rotate", json={"gracePeriodSeconds": 0}, headers=auth()
    )
    assert (await resp.json())["previousSecretValidUntil"] is None
    for bad in (-1, 604_801, "60", 1.5):
        resp = await client.post(
            f"{hook}/secret/rotate", json={"gracePeriodSeconds": bad}, headers=auth()
        )
        assert resp.status == 422
        assert (await resp.json())["error"]["field"] == "gracePeriodSeconds"


async def test_no_secret_or_password_in_the_database_in_clear(
    make_client: Any, db_url: str
) -> None:
    client = await make_client(api_conf(db_url))
    password = "basic-pa55word-zz"
    _, made = await make(
        client, secret=GIVEN_SECRET, basicAuth={"username": "crm", "password": password}
    )
    rotated = await (
        await client.post(
            f"/api/v1/webhooks/{made['webhookId']}/secret/rotate", json={}, headers=auth()
        )
    ).json()
    db = client.app[appkeys.DB]
    async with db.read() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(t.customer_webhooks.select())]
    dump = repr(rows)
    for secret in (GIVEN_SECRET, rotated["secret"], password):
        assert secret not in dump
        assert secret.removeprefix("whsec_") not in dump
    assert rows[0]["secret_sealed"] and rows[0]["password_sealed"]
