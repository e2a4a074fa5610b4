"""Preferences and agent handlers and the agents API, end to end, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from flowhooks.settings import Settings
from tests.conftest import ClientFactory, answer_keys, envelope, settings_from

ACME_TOKEN = "acme-api-token-123"
OTHER_TOKEN = "other-api-token-456"


def conf(db_url: str) -> Settings:
    return settings_from(
        f"""
[storage]
url = "{db_url}"
[clients.acme]
api_token = "{ACME_TOKEN}"
default_region = "IN"
[clients.other]
api_token = "{OTHER_TOKEN}"
[[agents]]
client = "acme"
cli = "+919800000001"
name = "Asha"
did = "+918068000000"
[[agents]]
client = "acme"
cli = "9800000002"
name = "Ravi"
did = "08068000000"
"""
    )


async def call(client: Any, method: str, **keys: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/webhook", json=envelope(method, **keys))
    return resp.status, await resp.json()


async def test_a_language_set_on_one_call_is_read_on_the_next_across_a_restart(
    make_client: ClientFactory, db_url: str
) -> None:
    first = await make_client(conf(db_url))
    status, body = await call(
        first, "updateUserPreferences", contactNumber="09979746666", **{"$user.key.lang": "hi"}
    )
    assert (status, body["status"]) == (200, "SUCCESS")
    assert answer_keys(body)["$user.key.lang"] == "hi"
    await first.close()  # the service stops ...

    second = await make_client(conf(db_url))  # ... and starts again on the same database
    status, body = await call(second, "fetchUserPreferences", cli="+91 99797 46666")
    keys = answer_keys(body)
    assert keys["$flow.key.userFound"] == "true"
    assert keys["$user.key.lang"] == "hi"


async def test_fetch_unknown_caller(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    _, body = await call(client, "fetchUserPreferences", contactNumber="9979746666")
    assert answer_keys(body) == {"$flow.key.status": "SUCCESS", "$flow.key.userFound": "false"}


async def test_update_deletes_on_empty_and_answers_everything_stored(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(conf(db_url))
    await call(
        client,
        "updateUserPreferences",
        cli="9979746666",
        **{"$user.key.a": "1", "$user.key.b": "2"},
    )
    _, body = await call(
        client, "updateUserPreferences", cli="919979746666", **{"$user.key.a": "", "$user.key.c": 3}
    )
    keys = answer_keys(body)
    assert {k: v for k, v in keys.items() if k.startswith("$user")} == {
        "$user.key.b": "2",
        "$user.key.c": "3",
    }
    _, body = await call(client, "fetchUserPreferences", cli="9979746666", clientID="acme")
    assert answer_keys(body)["$flow.key.userFound"] == "false"  # another client's data


@pytest.mark.parametrize(
    ("keys", "bad_key"),
    [
        ({"$user.key.lang": "hi"}, "contactNumber"),
        ({"contactNumber": "hello", "$user.key.lang": "hi"}, "contactNumber"),
        ({"contactNumber": "12", "$user.key.lang": "hi"}, "contactNumber"),
        ({"contactNumber": "9979746666"}, "$user.key.*"),
        ({"contactNumber": "9979746666", "$user.key.bad name": "x"}, "$user.key.bad name"),
        ({"contactNumber": "9979746666", "$user.key.big": "x" * 1025}, "$user.key.big"),
        ({"contactNumber": "9979746666", "clientID": "ghost", "$user.key.a": "1"}, "clientID"),
    ],
)
async def test_update_rejects_bad_keys_with_422(
    make_client: ClientFactory, keys: dict[str, str], bad_key: str
) -> None:
    client = await make_client(conf("sqlite:///:memory:"))
    status, body = await call(client, "updateUserPreferences", **keys)
    assert status == 422
    assert body["error"]["details"][0]["key"] == bad_key


async def test_more_than_100_keys_is_422(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    many = {f"$user.key.k{i}": "v" for i in range(100)}
    status, _ = await call(client, "updateUserPreferences", cli="9979746666", **many)
    assert status == 200
    status, body = await call(
        client, "updateUserPreferences", cli="9979746666", **{"$user.key.x": "1"}
    )
    assert status == 422 and "at most 100" in body["error"]["details"][0]["message"]


async def test_pause_status_handler(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    _, body = await call(client, "updatePauseStatusForCLI", cli="9800000001", clientID="acme")
    assert answer_keys(body)["$flow.key.cli_pause_update"] == "paused"  # toggle by default
    assert answer_keys(body)["$flow.key.agentName"] == "Asha"
    _, body = await call(
        client, "updatePauseStatusForCLI", cli="+919800000001", clientID="acme", pauseStatus="PAUSE"
    )
    assert answer_keys(body)["$flow.key.cli_pause_update"] == "paused"
    _, body = await call(
        client, "updatePauseStatusForCLI", cli="09800000001", clientID="acme", pauseStatus="unpause"
    )
    assert answer_keys(body)["$flow.key.cli_pause_update"] == "unpaused"
    status, body = await call(client, "updatePauseStatusForCLI", cli="9800000009", clientID="acme")
    assert (status, body["status"]) == (200, "FAILED")
    assert answer_keys(body)["$flow.key.errorCode"] == "AGENT_NOT_FOUND"
    status, body = await call(
        client, "updatePauseStatusForCLI", cli="9800000001", clientID="acme", pauseStatus="sleep"
    )
    assert (status, body["error"]["details"][0]["key"]) == (422, "pauseStatus")


async def test_allocate_agent_handler(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    seen = []
    for _ in range(2):
        _, body = await call(client, "allocateAgent", did="08068000000", clientID="acme")
        keys = answer_keys(body)
        assert keys["$flow.key.agentAvailable"] == "true"
        seen.append(keys["$flow.key.agentName"])
    assert sorted(seen) == ["Asha", "Ravi"]
    for cli in ("9800000001", "9800000002"):
        await call(client, "updatePauseStatusForCLI", cli=cli, clientID="acme", pauseStatus="pause")
    _, body = await call(client, "allocateAgent", did="08068000000", clientID="acme")
    assert answer_keys(body) == {
        "$flow.key.status": "SUCCESS",
        "$flow.key.agentAvailable": "false",
        "$flow.key.agentCli": "",
        "$flow.key.agentName": "",
    }


async def test_agents_api(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    acme = {"Authorization": f"Bearer {ACME_TOKEN}"}
    resp = await client.put(
        "/api/v1/agents/9800000003", json={"name": "Meena", "did": "08068000000"}
    )
    assert resp.status == 401
    resp = await client.put(
        "/api/v1/agents/9800000003",
        json={"name": "Meena", "did": "08068000000"},
        headers={"Authorization": "Bearer nope"},
    )
    assert resp.status == 401
    resp = await client.put(
        "/api/v1/agents/9800000003", json={"name": "Meena", "did": "08068000000"}, headers=acme
    )
    assert resp.status == 200
    agent = await resp.json()
    assert (agent["cli"], agent["did"], agent["paused"], agent["source"]) == (
        "+919800000003",
        "+918068000000",
        False,
        "api",
    )
    resp = await client.put("/api/v1/agents/9800000003", json={"name": ""}, headers=acme)
    assert resp.status == 422
    for name, problem in (("x" * 201, "longer than 200"), ("A\u0000sha", "control character")):
        body = {"name": name, "did": "08068000000"}
        resp = await client.put("/api/v1/agents/9800000004", json=body, headers=acme)
        error = (await resp.json())["error"]
        assert (resp.status, error["code"]) == (422, "INVALID_BODY")
        assert error["message"].startswith("name: ") and problem in error["message"]
    resp = await client.get("/api/v1/agents/9800000004", headers=acme)
    assert resp.status == 404  # nothing of either was stored, on either database
    resp = await client.put(
        "/api/v1/agents/abc", json={"name": "X", "did": "08068000000"}, headers=acme
    )
    assert resp.status == 422
    await call(
        client, "updatePauseStatusForCLI", cli="9800000003", clientID="acme", pauseStatus="pause"
    )
    resp = await client.get("/api/v1/agents/+919800000003/history", headers=acme)
    history = await resp.json()
    assert [e["action"] for e in history["events"]] == ["pause", "register"]
    assert history["events"][0]["paused"] is True
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    resp = await client.get("/api/v1/agents/9800000003", headers=other)
    assert resp.status == 404  # a client sees only its own agents
    resp = await client.get("/api/v1/agents/9800000003", headers=acme)
    assert (await resp.json())["paused"] is True


async def test_readyz_reports_the_database(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(conf(db_url))
    body = await (await client.get("/readyz")).json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["dialect"] in ("sqlite", "postgresql")
