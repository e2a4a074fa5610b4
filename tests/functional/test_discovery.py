"""/methods, /openapi.json, /healthz, /readyz, /metrics."""

from __future__ import annotations

import pytest

from flowhooks.errors import RegistryError
from flowhooks.handlers import validate_datetime
from flowhooks.method import Method
from flowhooks.settings import Settings
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory, envelope


async def test_methods_lists_inputs_and_outputs(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    body = await (await client.get("/methods")).json()
    vdt = next(m for m in body["methods"] if m["method"] == "validateDateTime")
    inputs = {i["name"]: i for i in vdt["inputs"]}
    assert inputs["inputDate"]["required"] is True
    assert inputs["inputDate"]["example"] == "08122019"
    assert inputs["inputTime"]["required"] is False
    outputs = [o["name"] for o in vdt["outputs"]]
    assert "$flow.key.outputDate" in outputs and "$flow.key.SmsOutputTime" in outputs


async def test_openapi_document(make_client: ClientFactory, calendars_settings: Settings) -> None:
    client = await make_client(calendars_settings)
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    for path in ("/webhook", "/legacy/hook/", "/methods", "/healthz", "/readyz", "/metrics"):
        assert path in doc["paths"], path
    schema = doc["components"]["schemas"]["method.validateDateTime"]
    assert schema["required"] == ["inputDate"]
    assert "422" in doc["paths"]["/webhook"]["post"]["responses"]


async def test_health_and_readiness(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "ready"
    assert body["checks"]["calendars"]["ok"] is True


async def test_metrics_count_requests_by_method_and_status(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    await client.post("/webhook", json=envelope("validateDateTime", inputDate="1"))
    await client.post("/webhook", json=envelope("nope"))
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.content_type == "text/plain"
    assert (
        'flowhooks_requests_total{http_status="200",method="validateDateTime",status="SUCCESS"} 1.0'
        in text
    )
    assert (
        'flowhooks_requests_total{http_status="404",method="unknown",status="FAILED"} 1.0' in text
    )
    assert 'flowhooks_request_seconds_bucket{le="0.005",method="validateDateTime"}' in text


async def test_registry_is_frozen_once_the_app_starts(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    registry = client.app[appkeys.REGISTRY]
    assert registry.frozen
    with pytest.raises(RegistryError, match="frozen"):
        registry.register(Method.from_module(validate_datetime, "late"))
