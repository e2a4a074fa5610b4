"""Issue 22: one style for the REST API. Every /api/v1 answer's keys are camelCase, and
every answer matches the schema /openapi.json declares for it (the schemas are real, not
bare objects), checked here on answers with data in them: a call with attempts and a
history, a delivery, a report, an agent and its history, a link."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from tests.conftest import ClientFactory
from tests.fakes import wait_for
from tests.outbound_conf import TOKEN, create, outbound_conf, post, simulated_dialer, view

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAMEL = re.compile(r"[a-z][A-Za-z0-9]*")
# values that are data, not the API's own keys: a provider's payload as received, a
# report's keys as the flow sent them, createOutbound's stored answer (flow key names)
DATA = {"raw", "keys", "answer"}


def snake_keys(doc: Any, path: str = "") -> list[str]:
    """The path of every key in ``doc`` that is not camelCase (data values skipped)."""
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not CAMEL.fullmatch(key) and key not in ("obdReqID", "clientID", "flowID"):
                found.append(f"{path}.{key}")
            if key not in DATA:
                found += snake_keys(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            found += snake_keys(item, f"{path}[{i}]")
    return found


def check(openapi: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    """``body`` is camelCase and valid against the operation's declared schema."""
    assert snake_keys(body) == [], body
    declared = openapi["paths"][path][method]["responses"][str(status)]
    schema = declared["content"]["application/json"]["schema"]
    assert schema not in ({}, {"type": "object"}), f"{method} {path} {status}: a bare object"
    jsonschema.validate(body, {**schema, "components": openapi["components"]})


@pytest.fixture
def conf(tmp_path: Any) -> Any:
    extra = """
[[agents]]
client = "acme"
cli = "+919800000001"
name = "Asha"
did = "+918068000000"
[clients.acme.webhooks.report]
url = "http://127.0.0.1:9/hook"
"""
    url = f"sqlite:///{tmp_path}/style.db"
    return outbound_conf(url, workers=True, dialer=simulated_dialer(), extra=extra)


async def test_every_api_answer_is_camel_case_and_matches_its_schema(
    make_client: ClientFactory, conf: Any
) -> None:
    client = await make_client(conf)
    openapi = await (await client.get("/openapi.json")).json()
    _, keys, _ = await post(client, create("9979746666, 9979746667"))
    req = keys["$flow.key.obdReqID"]

    async def completed() -> bool:
        calls = (await view(client, req))["calls"]
        return all(c["state"] == "completed" for c in calls)

    await wait_for(completed, timeout=10)
    body = await view(client, req)
    assert body["calls"][0]["attempts"] and body["calls"][0]["history"]
    check(openapi, "get", "/api/v1/outbound/{req_id}", 200, body)
    resp = await client.delete(f"/api/v1/outbound/{req}", headers=AUTH)
    check(openapi, "delete", "/api/v1/outbound/{req_id}", 200, await resp.json())

    await post(client, {"method": "pullreport", "keys": [{"name": "clientID", "value": "acme"}]})
    for path in ("/api/v1/reports", "/api/v1/deliveries"):
        resp = await client.get(path, headers=AUTH)
        check(openapi, "get", path, 200, await resp.json())
    agent = "/api/v1/agents/9800000001"
    resp = await client.put(agent, json={"name": "Asha R", "did": "+918068000000"}, headers=AUTH)
    check(openapi, "put", "/api/v1/agents/{cli}", 200, await resp.json())
    resp = await client.get(agent, headers=AUTH)
    check(openapi, "get", "/api/v1/agents/{cli}", 200, await resp.json())
    resp = await client.get(agent + "/history", headers=AUTH)
    check(openapi, "get", "/api/v1/agents/{cli}/history", 200, await resp.json())
    resp = await client.post("/api/v1/webhooks/report/enable", headers=AUTH)
    check(openapi, "post", "/api/v1/webhooks/{event}/enable", 200, await resp.json())
    resp = await client.get("/api/v1/reports", params={"limit": "abc"}, headers=AUTH)
    check(openapi, "get", "/api/v1/reports", 400, await resp.json())


async def test_every_api_schema_names_its_keys_in_camel_case(make_client: ClientFactory) -> None:
    """The declared schemas themselves: a snake_case property anywhere is a finding."""
    client = await make_client(outbound_conf("sqlite:///:memory:"))
    openapi = await (await client.get("/openapi.json")).json()
    bad: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name in node.get("properties", {}):
                if not CAMEL.fullmatch(name) and name not in ("obdReqID", "clientID", "flowID"):
                    bad.append(f"{where}: {name}")
            for key, value in node.items():
                if key not in DATA:
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path, ops in openapi["paths"].items():
        if path.startswith("/api/v1"):
            for method, op in ops.items():
                walk(op.get("responses", {}), f"{method} {path}")
    assert bad == []
