"""The envelope endpoint end to end through aiohttp_client (SPEC 1)."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from typing import Any

import pytest

from flowhooks.logs import AccessLog, JsonFormatter
from flowhooks.method import Keys, Method
from flowhooks.methods.loader import load_registry
from flowhooks.methods.registry import MethodRegistry
from flowhooks.settings import Settings
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory, answer_keys, envelope, settings_from

NOW = "2019-12-07T10:00:00+05:30"
VALID = envelope("validateDateTime", **{"$flow.key.inputDate": "09122019", "inputTime": "1030"})


async def post(
    client: Any, doc: Any, path: str = "/webhook", **headers: str
) -> tuple[int, dict[str, Any]]:
    hdrs = {"X-Flowhooks-Now": NOW, **headers}
    resp = await client.post(path, json=doc, headers=hdrs)
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


async def test_success_with_prefixes_and_case_insensitive_names(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    doc = {
        "method": "VALIDATEDATETIME",
        "keys": [
            {"name": "$flow.syskey.INPUTDATE", "value": "01012019"},
            {"name": "$flow.key.inputDate", "value": "09122019"},  # last wins
            {"name": "$flow.InputTime", "value": 1030},  # numbers are text
        ],
    }
    status, body = await post(client, doc)
    assert status == 200
    assert body["method"] == "validateDateTime" and body["status"] == "SUCCESS"
    assert body["requestId"]
    keys = answer_keys(body)
    assert body["keys"][0] == {"name": "$flow.key.status", "value": "SUCCESS"}
    assert keys["$flow.key.outputDate"] == "2019-12-09T10:30:00+05:30"
    assert keys["$flow.key.dateIsValid"] == "true"
    assert all(isinstance(k["value"], str) for k in body["keys"])


async def test_legacy_paths_are_served(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    status, body = await post(client, VALID, path="/legacy/hook/")
    assert (status, body["status"]) == (200, "SUCCESS")


async def test_bad_json_is_400(make_client: ClientFactory, calendars_settings: Settings) -> None:
    client = await make_client(calendars_settings)
    resp = await client.post(
        "/webhook", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    body = await resp.json()
    assert resp.status == 400
    assert body["error"]["code"] == "BAD_ENVELOPE"
    assert answer_keys(body)["$flow.key.errorCode"] == "BAD_ENVELOPE"
    assert answer_keys(body)["$flow.key.status"] == "FAILED"


async def test_unknown_method_is_404_listing_methods(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    status, body = await post(client, envelope("noSuchMethod"))
    assert status == 404
    assert body["error"]["code"] == "UNKNOWN_METHOD"
    assert "validateDateTime" in body["error"]["message"]
    assert body["method"] == "noSuchMethod"


async def test_too_large_is_413(make_client: ClientFactory) -> None:
    client = await make_client(settings_from("[server]\nmax_body_bytes = 2048"))
    big = envelope("validateDateTime", inputDate="1", pad="x" * 3000)
    status, body = await post(client, big)
    assert (status, body["error"]["code"]) == (413, "TOO_LARGE")

    async def chunks() -> Any:  # no Content-Length: the limit still holds
        yield json.dumps(big).encode()

    resp = await client.post(
        "/webhook", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "TOO_LARGE"


async def test_wrong_media_type_is_415(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    resp = await client.post(
        "/webhook", data=json.dumps(VALID), headers={"Content-Type": "text/plain"}
    )
    assert resp.status == 415
    assert (await resp.json())["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    resp = await client.post(
        "/webhook",
        data=json.dumps(VALID),
        headers={"Content-Type": "application/json; charset=utf-8", "X-Flowhooks-Now": NOW},
    )
    assert resp.status == 200


async def test_invalid_keys_is_422_naming_each_key(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    status, body = await post(client, envelope("validateDateTime", inputTime="10"))
    assert status == 422
    assert body["error"]["code"] == "INVALID_KEYS"
    assert body["error"]["details"] == [{"key": "inputDate", "message": "is required"}]
    status, body = await post(client, envelope("validateDateTime", inputDate="", inputTime="10"))
    assert (status, body["error"]["details"][0]["key"]) == (422, "inputDate")
    status, body = await post(
        client, envelope("validateDateTime", inputDate="1", type="Nope", calendar="default")
    )
    assert status == 422
    assert body["error"]["details"][0]["key"] == "type"
    assert "Callback" in body["error"]["details"][0]["message"]
    status, body = await post(client, envelope("validateDateTime", inputDate="1", calendar="mars"))
    assert (status, body["error"]["details"][0]["key"]) == (422, "calendar")
    doc = {
        "method": "validateDateTime",
        "keys": [{"name": "inputDate", "value": [1]}, {"name": "x", "value": {}}],
    }
    status, body = await post(client, doc)
    assert status == 422
    assert [d["key"] for d in body["error"]["details"]] == ["inputDate", "x"]


async def test_bearer_token(make_client: ClientFactory) -> None:
    client = await make_client(
        settings_from('[server]\ntoken = "s3cret-token"'), now=datetime.fromisoformat(NOW)
    )
    status, body = await post(client, VALID)
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    status, _ = await post(client, VALID, Authorization="Bearer wrong")
    assert status == 401
    status, _ = await post(client, VALID, Authorization="Basic s3cret-token")
    assert status == 401
    status, body = await post(client, VALID, Authorization="Bearer s3cret-token")
    assert (status, body["status"]) == (200, "SUCCESS")
    assert "s3cret-token" not in json.dumps(body)
    resp = await client.get("/healthz")  # only envelope paths need the token
    assert resp.status == 200


async def test_clock_header_only_when_allowed(make_client: ClientFactory) -> None:
    pinned = datetime.fromisoformat("2019-12-09T11:00:00+05:30")  # the server's own clock
    calendar = '[calendars.default]\ntimezone = "Asia/Kolkata"\nworkdays = ["Mon", "Sat"]\n'
    on = settings_from("[testing]\nallow_clock_override = true\n" + calendar)
    off = settings_from(calendar)
    doc = envelope("validateDateTime", inputDate="today")
    client = await make_client(on, now=pinned)
    _, body = await post(client, doc)
    assert answer_keys(body)["$flow.key.outputDate"] == "2019-12-07T10:00:00+05:30"
    resp = await client.post("/webhook", json=doc, headers={"X-Flowhooks-Now": "yesterday"})
    assert resp.status == 400
    assert "X-Flowhooks-Now" in (await resp.json())["error"]["message"]
    client = await make_client(off, now=pinned)
    _, body = await post(client, doc)
    assert answer_keys(body)["$flow.key.outputDate"] == "2019-12-09T11:00:00+05:30"


async def crash(ctx: Any, keys: Any) -> Any:
    raise RuntimeError("secret internals")


class _NoKeys(Keys):
    pass


async def test_a_bug_is_500_without_a_stack(
    make_client: ClientFactory, calendars_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    registry = load_registry()
    registry.register(Method("crash", _NoKeys, _NoKeys, crash, "test"))
    client = await make_client(calendars_settings, registry=registry)
    with caplog.at_level(logging.INFO):
        status, body = await post(client, envelope("crash"))
    assert status == 500
    assert body["error"]["code"] == "INTERNAL"
    assert body["requestId"] in body["error"]["message"]
    text = json.dumps(body)
    assert "Traceback" not in text and "secret internals" not in text
    crashed = [r for r in caplog.records if r.exc_info]
    assert crashed and crashed[0].fields["requestId"] == body["requestId"]  # type: ignore[attr-defined]


async def test_one_json_log_line_per_request_without_secret_values(
    make_client: ClientFactory, calendars_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    stream = io.BytesIO()
    client = await make_client(calendars_settings, access_log=AccessLog(stream))
    doc = envelope(
        "validateDateTime", inputDate="09122019", securityID="SUPERSECRET", apiKey="AIzaXYZ"
    )
    with caplog.at_level(logging.DEBUG):
        status, body = await post(client, doc, **{"X-Request-Id": "req-42"})
        await post(client, envelope("nope", securityID="SUPERSECRET"))
    assert status == 200 and body["requestId"] == "req-42"
    client.app[appkeys.ACCESS_LOG].flush()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    line = lines[0]
    assert line["requestId"] == "req-42" and line["logger"] == "flowhooks.access"
    assert line["method"] == "validateDateTime"
    assert line["httpStatus"] == 200 and line["status"] == "SUCCESS"
    assert line["latencyMs"] >= 0
    assert (lines[1]["httpStatus"], lines[1]["errorCode"]) == (404, "UNKNOWN_METHOD")
    every = stream.getvalue().decode() + "\n".join(
        JsonFormatter().format(r) for r in caplog.records
    )
    assert "SUPERSECRET" not in every and "AIzaXYZ" not in every


async def test_no_valid_slot_is_failed_with_200(make_client: ClientFactory) -> None:
    client = await make_client(settings_from("[calendars.default]\nworkdays = []"))
    status, body = await post(client, envelope("validateDateTime", inputDate="today"))
    assert (status, body["status"]) == (200, "FAILED")
    assert answer_keys(body)["$flow.key.errorCode"] == "NO_VALID_SLOT"
    assert "error" not in body


async def test_type_matches_case_insensitively(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    _, body = await post(
        client,
        envelope("validateDateTime", inputDate="9 december", inputTime="7 pm", type="callback"),
    )
    keys = answer_keys(body)
    assert keys["$flow.key.outputDate"] == "2019-12-09T19:00:00+05:30"
    assert keys["$flow.key.outputTime"] == "08:00 AM to 08:00 PM"
    assert keys["$flow.key.SmsOutputTime"] == "08:00 AM to 08:00 PM"


async def test_unknown_route_and_wrong_verb_answer_json(
    make_client: ClientFactory, calendars_settings: Settings
) -> None:
    client = await make_client(calendars_settings)
    resp = await client.get("/nowhere")
    assert resp.status == 404 and (await resp.json())["status"] == "FAILED"
    resp = await client.get("/webhook")
    assert resp.status == 405 and (await resp.json())["status"] == "FAILED"
    assert resp.headers["Allow"] == "POST"
    resp = await client.delete("/api/v1/agents/9800000001")
    assert (resp.status, resp.headers["Allow"]) == (405, "GET,PUT")
    resp = await client.post("/healthz")
    assert (resp.status, resp.headers["Allow"]) == (405, "GET")


async def test_an_answer_key_the_output_does_not_declare_is_a_500_not_an_answer(
    make_client: ClientFactory, calendars_settings: Any
) -> None:
    async def sloppy(ctx: Any, keys: Any) -> dict[str, object]:
        return {"secretInternal": "x"}

    registry = MethodRegistry()
    registry.register(Method("sloppy", _NoKeys, _NoKeys, sloppy, "test"))
    client = await make_client(calendars_settings, registry=registry)
    resp = await client.post("/webhook", json={"method": "sloppy", "keys": []})
    body = await resp.json()
    assert resp.status == 500 and body["error"]["code"] == "INTERNAL"
    assert "secretInternal" not in await resp.text()
