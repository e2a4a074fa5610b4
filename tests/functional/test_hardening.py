"""Issue 13's cases, one by one: each answers its 4xx in the SPEC's shape, the same on
SQLite and PostgreSQL, and nothing of a refused request is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ClientFactory, answer_keys, envelope, settings_from
from tests.outbound_conf import create, outbound_conf, post

NOON = "2026-11-21T12:00:00+05:30"


async def _answer(client: Any, doc: Any, headers: dict[str, str] | None = None) -> Any:
    resp = await client.post("/webhook", json=doc, headers=headers or {})
    body = await resp.json()
    assert answer_keys(body)["$flow.key.status"] == "FAILED"
    return resp.status, body


@pytest.mark.parametrize("name", ["$flow.", "$flow.key.", "$flow.syskey.", "$user.key.", "$FLOW."])
async def test_a_name_that_is_only_a_prefix_is_a_bad_envelope(
    make_client: ClientFactory, name: str
) -> None:
    client = await make_client(settings_from())
    doc = envelope("validateDateTime", **{name: "x", "inputDate": "today"})
    status, body = await _answer(client, doc)
    assert (status, body["error"]["code"]) == (400, "BAD_ENVELOPE")
    assert "nothing after its prefix" in body["error"]["message"]


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[2J", "x\x7f", "\x85"])
async def test_a_control_character_in_a_value_is_a_422_naming_the_key(
    make_client: ClientFactory, value: str
) -> None:
    client = await make_client(settings_from())
    doc = envelope("fetchUserPreferences", contactNumber="9979746666", **{"$user.key.x": value})
    status, body = await _answer(client, doc)
    assert (status, body["error"]["code"]) == (422, "INVALID_KEYS")
    assert body["error"]["details"][0]["key"] == "$user.key.x"
    assert "control character" in body["error"]["details"][0]["message"]


async def test_tab_and_new_line_are_text_not_control(make_client: ClientFactory) -> None:
    client = await make_client(settings_from())
    doc = envelope("speechprocessing", speechText="yes\tplease\nnow", expect="yes_no")
    resp = await client.post("/webhook", json=doc)
    assert answer_keys(await resp.json())["$flow.key.yesNo"] == "yes"


async def test_a_control_character_in_a_name_is_a_bad_envelope(make_client: ClientFactory) -> None:
    client = await make_client(settings_from())
    status, body = await _answer(client, envelope("validateDateTime", **{"in\x00putDate": "x"}))
    assert (status, body["error"]["code"]) == (400, "BAD_ENVELOPE")


@pytest.mark.parametrize(
    "now", ["0001-01-01T00:00:00+05:30", "9999-12-31T23:59:59-12:00", "1970-01-01T00:00:00Z"]
)
async def test_a_clock_header_near_the_ends_of_time_is_a_400(
    make_client: ClientFactory, now: str
) -> None:
    conf = settings_from("[testing]\nallow_clock_override = true\n")
    client = await make_client(conf)
    doc = envelope("validateDateTime", inputDate="today")
    status, body = await _answer(client, doc, {"X-Flowhooks-Now": now})
    assert (status, body["error"]["code"]) == (400, "BAD_ENVELOPE")
    assert "X-Flowhooks-Now" in body["error"]["message"]


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("9999-12-31", "too_far"),
        ("31129999", "too_far"),
        ("9999-12-31T23:00:00-10:00", "too_far"),
        ("0001-01-01", "past"),
        ("01010001", "past"),
        ("0001-01-01T00:00:00+10:00", "past"),
    ],
)
@pytest.mark.parametrize("time", [None, "01:00"])
async def test_dates_near_the_ends_of_time_are_answered(
    make_client: ClientFactory, date: str, reason: str, time: str | None
) -> None:
    """Issue 22: with a time, on an Asia/Kolkata calendar, these were 500 INTERNAL."""
    conf = settings_from('[calendars.default]\ntimezone = "Asia/Kolkata"\ncountry = "IN"\n')
    client = await make_client(conf)
    keys = {"inputDate": date} | ({"inputTime": time} if time else {})
    resp = await client.post("/webhook", json=envelope("validateDateTime", **keys))
    flow = answer_keys(await resp.json())
    assert resp.status == 200 and flow["$flow.key.status"] == "SUCCESS"
    assert (flow["$flow.key.dateIsValid"], flow["$flow.key.invalidReason"]) == ("false", reason)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("idempotencyKey", "k" * 201, "at most 200 characters"),
        ("email", "e" * 255, "at most 254 characters"),
        ("referenceId", "r" * 201, "at most 200 characters"),
        ("delayMinutes", "1_000", "whole number"),
        ("delayMinutes", "+5", "whole number"),
        ("delayMinutes", "\u0665", "whole number"),
        ("delayMinutes", "\uff15", "whole number"),
        ("email", "a\x00@b.co", "control character"),
    ],
)
async def test_createoutbound_refuses_what_it_cannot_store_whole(
    make_client: ClientFactory, db_url: str, key: str, value: str, problem: str
) -> None:
    client = await make_client(outbound_conf(db_url))
    status, keys, body = await post(client, create("9979746666", **{key: value}), NOON)
    assert (status, body["error"]["code"]) == (422, "INVALID_KEYS")
    assert body["error"]["details"][0]["key"].endswith(key)
    assert problem in body["error"]["details"][0]["message"]
    assert keys["$flow.key.obdResponseCode"] == "400"


async def test_two_long_idempotency_keys_differing_late_are_two_requests(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url))
    first, second = "k" * 199 + "1", "k" * 199 + "2"
    _, a, _ = await post(client, create("9979746666", idempotencyKey=first), NOON)
    _, b, _ = await post(client, create("9979746667", idempotencyKey=second), NOON)
    assert a["$flow.key.obdResponseCode"] == b["$flow.key.obdResponseCode"] == "200"
    assert a["$flow.key.obdReqID"] != b["$flow.key.obdReqID"]


async def test_a_padded_number_is_refused_quoting_only_its_start(
    make_client: ClientFactory,
) -> None:
    client = await make_client(settings_from())
    padded = "9979746666" + "0" * 7000
    status, body = await _answer(client, envelope("fetchUserPreferences", contactNumber=padded))
    assert status == 422
    assert len(body["error"]["message"]) < 200


@pytest.mark.parametrize("now", ["8999-12-31T23:59:59-12:00", "1971-01-01T00:00:00+14:00"])
@pytest.mark.parametrize(
    ("client_id", "secret", "flow", "number"),
    [
        ("acme", "a" * 64, "ab12cd34", "9979746666"),
        ("us", "u" * 64, "us000001", "+1 808 555 0100"),  # callee zone: Hawaii, UTC-10
    ],
)
async def test_createoutbound_due_times_at_the_clocks_ends_are_answered(
    make_client: ClientFactory, now: str, client_id: str, secret: str, flow: str, number: str
) -> None:
    """The due time is built from the clock (1971-8999) and delayMinutes (at most a week),
    in the calendar's or the callee's zone: bounded before any arithmetic."""
    client = await make_client(outbound_conf("sqlite:///:memory:"))
    doc = create(number, client_id, secret, flow, delayMinutes="10080")
    status, keys, _ = await post(client, doc, now)
    assert status == 200 and keys["$flow.key.obdResponseCode"] == "200", keys
