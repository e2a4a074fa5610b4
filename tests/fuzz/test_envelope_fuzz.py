"""No envelope makes a 5xx (issue 13): Hypothesis builds envelopes for every registered
method from its Input schema, then mutates names, values, types and the clock header.
Every answer must be below 500, in the SPEC's shape, with ``$flow.key.status``; the same
on SQLite and PostgreSQL (one validation layer decides, not the database)."""

from __future__ import annotations

import http.client
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowhooks import settings as settings_mod
from flowhooks.clock import RunningClock
from flowhooks.methods.loader import load_registry
from tests.conftest import NEUTRAL, ROOT
from tests.fuzz import moments
from tests.served import served

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per method and database
# validateDateTime's date x time x zone x clock: enough to meet each overflowing corner
DATE_EXAMPLES = max(EXAMPLES, 300)
SECURITY_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
REGISTRY = load_registry()
METHODS = REGISTRY.names()


class Raw:
    """A JSON token written as is: 1e400, 9223372036854775808, -0.0."""

    def __init__(self, token: str) -> None:
        self.token = token


NASTY = [
    "", " ", "\x00", "a\x00b", "\x1b[31m", "line\nbreak", "tab\there", "\u202e", "\ufeff",
    "null", "true", "0", "-1", "+5", "1_000", "\u0665", "\uff15", "1e400", "inf", "-inf", "nan",
    "9223372036854775808", "-9223372036854775809", "99999999999999999999999",
    "0001-01-01", "9999-12-31", "01010001", "31129999", "00000000", "99999999",
    "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "2026-02-30", "25:61",
    "+919876543210", "9876543210", "+91 98765 43210", " " * 3000 + "9876543210",
    "9876543210," * 400, "acme", "default", "ab12cd34", SECURITY_ID, "abcd1234", "123",
    "bot-123-token", "en", "hi", "zz", "auto", "x" * 200, "x" * 201, "x" * 8193,
    "a@b.co", "http://127.0.0.1:9/", "https://example.com/" + "a" * 3000, "javascript:alert(1)",
    "pause", "unpause", "toggle", "register", "yes please", "nine eight double seven",
    '"quoted"', "'single'", "\\", "{}", "[]", "<script>", "%00", "é" * 3000,
]  # fmt: skip
RAW = [Raw(t) for t in ("1e400", "-1e400", "9223372036854775808", "1e-400", "-0.0", "1.5")]


def values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=30),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        st.sampled_from(RAW),
        st.just({"a": 1}),
        st.just([1, 2]),
    )


def names(field: str) -> st.SearchStrategy[str]:
    prefixed = st.tuples(
        st.sampled_from(["", "$flow.key.", "$flow.", "$flow.syskey.", "$FLOW.KEY.", "$user.key."]),
        st.sampled_from([field, field.lower(), field.upper()]),
    ).map("".join)
    junk = st.sampled_from(
        ["$flow.", "$flow.key.", "$flow.syskey.", "$user.key.", "$", "a\x00b", '"q"', "x" * 129,
         "", "n\nl", "$user.key.x\x01"]
    )  # fmt: skip
    return st.one_of(prefixed, prefixed, prefixed, junk)


@st.composite
def shapes(draw: st.DrawFn, method: str, keys: list[dict[str, Any]]) -> Any:
    """The envelope around the keys; now and then with its shape broken."""
    doc: Any = {
        "method": draw(st.sampled_from([method, method.upper(), method.lower(), f" {method} "])),
        "keys": keys,
    }
    shape = draw(st.integers(0, 19))
    if shape == 0:
        doc = draw(st.sampled_from([[], "x", 1, None, {"method": method}, {"keys": keys}]))
    elif shape == 1:
        doc["keys"] = draw(st.sampled_from([{}, "k", [1], [{"name": 1}], [{"value": "v"}]]))
    elif shape == 2:
        doc["method"] = draw(st.one_of(st.text(max_size=20), st.integers(0, 9), st.none()))
    return doc


# keys whose values say something about time get values near its ends too
TIME_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "inputDate": moments.input_dates(),
    "inputTime": moments.input_times(),
    "calendar": moments.calendars(),
}


@st.composite
def envelopes(draw: st.DrawFn, method: str) -> tuple[bytes, str | None]:
    handler = REGISTRY.lookup(method)
    assert handler is not None
    fields = [*handler.input.model_fields, "clientID", "securityID", "$user.key.lang"]
    keys: list[dict[str, Any]] = []
    for field in fields:
        if draw(st.integers(0, 3)) == 0:
            continue  # absent
        examples = handler.input.model_fields.get(field)
        pool = [*(examples.examples or [])] if examples is not None else []
        kinds = [values(), *([st.sampled_from(pool)] if pool else [])]
        if field in TIME_KEYS:
            kinds += [TIME_KEYS[field]] * 2
        value = draw(st.one_of(kinds))
        if field == "securityID" and draw(st.booleans()):
            value = SECURITY_ID
        if field == "clientID" and draw(st.booleans()):
            value = "acme"
        keys.append({"name": draw(names(field)), "value": value})
    doc = draw(shapes(method, keys))
    raws: list[str] = []

    def placeholders(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.token)
            return f"__RAW{len(raws) - 1}__"
        if isinstance(node, dict):
            return {k: placeholders(v) for k, v in node.items()}
        if isinstance(node, list):
            return [placeholders(v) for v in node]
        return node

    body = orjson.dumps(placeholders(doc))
    for i, token in enumerate(raws):
        body = body.replace(f'"__RAW{i}__"'.encode(), token.encode())
    now = draw(
        st.one_of(st.sampled_from([None, "2026-11-23T12:00:00+05:30"]), moments.clock_headers())
    )
    return body, now


@st.composite
def date_envelopes(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """validateDateTime: a date (any form, any day) x a time x a zone x a clock header."""
    keys = [{"name": "$flow.key.inputDate", "value": draw(moments.input_dates())}]
    when = draw(moments.input_times())
    if when is not None:
        keys.append({"name": "$flow.key.inputTime", "value": when})
    keys.append({"name": "$flow.key.calendar", "value": draw(moments.calendars())})
    if draw(st.booleans()):
        keys.append({"name": "$flow.key.type", "value": "Callback"})
    body = orjson.dumps({"method": "validateDateTime", "keys": keys})
    return body, draw(moments.clock_headers())


def check_answer(status: int, body: bytes) -> None:
    assert status < 500, body[:500]
    doc = orjson.loads(body)
    assert set(doc) >= {"method", "status", "requestId", "keys"}, doc
    assert doc["status"] in ("SUCCESS", "FAILED")
    flow = {k["name"]: k["value"] for k in doc["keys"]}
    assert all(isinstance(v, str) for v in flow.values()), doc
    assert flow["$flow.key.status"] == doc["status"]
    if status != 200:
        assert doc["status"] == "FAILED" and doc["error"]["code"] and doc["error"]["message"]
    if doc["status"] == "FAILED":
        assert flow["$flow.key.errorCode"] and flow["$flow.key.errorMessage"]


def fuzz_settings(url: str) -> settings_mod.Settings:
    raw = tomllib.loads((ROOT / "config" / "flowhooks.toml").read_text())
    raw["storage"] = {"url": url}
    raw["server"]["workers"] = False
    raw["translate"]["endpoint"] = "http://127.0.0.1:9/language/translate/v2"
    raw["translate"]["timeout_seconds"] = 0.5
    raw["calendars"].update(moments.zone_calendars())
    return settings_mod.validate(raw, "<fuzz>", {})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/fuzz.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    with served(fuzz_settings(url), RunningClock(NEUTRAL)) as base:
        yield base


def post(conn: http.client.HTTPConnection, body: bytes, now: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if now is not None:
        headers["X-Flowhooks-Now"] = now
    conn.request("POST", "/webhook", body, headers)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize("method", METHODS)
def test_no_envelope_makes_a_5xx(base_url: str, method: str) -> None:
    conn = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same envelopes at any hour; FUZZ_EXAMPLES=2000 digs deeper
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(envelopes(method))
    def run(case: tuple[bytes, str | None]) -> None:
        check_answer(*post(conn, *case))

    try:
        run()
    finally:
        conn.close()


def test_no_date_time_zone_or_clock_makes_a_5xx(tmp_path: Path) -> None:
    """Issue 22: 0001-01-01 with 01:00 on an Asia/Kolkata calendar was a 500; every date
    near the ends of time, with a time, in a zone from UTC-12 to UTC+14, under any clock."""
    url = f"sqlite:///{tmp_path}/dates.db"
    with served(fuzz_settings(url), RunningClock(NEUTRAL)) as base:
        conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)

        @settings(
            max_examples=DATE_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(date_envelopes())
        def run(case: tuple[bytes, str | None]) -> None:
            check_answer(*post(conn, *case))

        try:
            run()
        finally:
            conn.close()
