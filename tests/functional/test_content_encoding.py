"""Issue 22: a body whose Content-Encoding does not decode was a 500 (zlib.error in
aiohttp's decompressor) on every body-reading route. Through the served app (as
``flowhooks serve`` serves it): 400 BAD_REQUEST for a body that does not decode, 415 for
an encoding we do not accept, gzip and deflate bodies that do decode are read (and
bounded by max_body_bytes once decoded), and none of it is an ERROR log line: a
client's malformed HTTP is counted in ``flowhooks_malformed_requests_total``."""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from flowhooks.clock import RunningClock
from tests.conftest import NEUTRAL, envelope, settings_from
from tests.served import served

CONF = """
[server]
workers = false
max_body_bytes = 4096
[clients.acme]
api_token = "acme-api-token"
cust_token = "abcd1234"
default_region = "IN"
[providers.unifonic]
format = "unifonic"
username = "cb-user"
password = "cb-pass"
"""
BASIC = "Basic " + base64.b64encode(b"cb-user:cb-pass").decode()
# (method, path, headers, a body the route takes, the answer's status for that body)
ROUTES = [
    ("POST", "/webhook", {}, orjson.dumps(envelope("validateDateTime", inputDate="today")), 200),
    ("POST", "/api/v1/shorten", {}, b'{"custToken": "abcd1234", "longUrl": "https://a.b/"}', 200),
    (
        "PUT",
        "/api/v1/agents/9800000001",
        {"Authorization": "Bearer acme-api-token"},
        b'{"name": "Asha", "did": "+918068000000"}',
        200,
    ),
    ("POST", "/callbacks/unifonic", {"Authorization": BASIC}, b'{"status": "ANSWER"}', 400),
]
IDS = [path for _, path, *_ in ROUTES]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with served(settings_from(CONF), RunningClock(NEUTRAL)) as url:
        yield url


def send(base: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path, body, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        conn.close()


def error_code(path: str, doc: dict[str, Any]) -> str:
    if path == "/webhook":  # the envelope's shape
        keys = {k["name"]: k["value"] for k in doc["keys"]}
        assert doc["status"] == keys["$flow.key.status"] == "FAILED"
        assert keys["$flow.key.errorCode"] == doc["error"]["code"]
    code: str = doc["error"]["code"]
    return code


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "GZIP"])
@pytest.mark.parametrize(("method", "path", "headers", "body", "ok"), ROUTES, ids=IDS)
def test_a_body_that_does_not_decode_is_a_400(
    base: str,
    caplog: pytest.LogCaptureFixture,
    encoding: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    ok: int,
) -> None:
    status, doc = send(base, method, path, body, {**headers, "Content-Encoding": encoding})
    assert (status, error_code(path, doc)) == (400, "BAD_REQUEST"), doc
    assert "Content-Encoding" in doc["error"]["message"]
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "x-gzip", "gzip, gzip", "foo"])
@pytest.mark.parametrize(("method", "path", "headers", "body", "ok"), ROUTES, ids=IDS)
def test_an_encoding_we_do_not_accept_is_a_415(
    base: str,
    caplog: pytest.LogCaptureFixture,
    encoding: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    ok: int,
) -> None:
    status, doc = send(base, method, path, body, {**headers, "Content-Encoding": encoding})
    assert (status, error_code(path, doc)) == (415, "UNSUPPORTED_MEDIA_TYPE"), doc
    assert "gzip, deflate or identity" in doc["error"]["message"]
    assert errors_logged(caplog) == []


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", bytes)],
)
@pytest.mark.parametrize(("method", "path", "headers", "body", "ok"), ROUTES, ids=IDS)
def test_a_body_that_decodes_is_read(
    base: str,
    encoding: str,
    encode: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    ok: int,
) -> None:
    status, doc = send(base, method, path, encode(body), {**headers, "Content-Encoding": encoding})
    assert status == ok, doc


@pytest.mark.parametrize(("method", "path", "headers", "body", "ok"), ROUTES, ids=IDS)
def test_a_small_body_that_decodes_past_max_body_bytes_is_a_413(
    base: str, method: str, path: str, headers: dict[str, str], body: bytes, ok: int
) -> None:
    padded = body[:-1] + b"," + b" " * 100_000 + b'"pad": 1}'  # 100 KB of JSON, ~200 B gzipped
    status, doc = send(
        base, method, path, gzip.compress(padded), {**headers, "Content-Encoding": "gzip"}
    )
    assert (status, error_code(path, doc)) == (413, "TOO_LARGE"), doc


def test_malformed_http_is_counted_and_logged_at_info(
    base: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send(base, "POST", "/webhook", b"{}", {"Content-Encoding": "br"})
    send(base, "POST", "/webhook", b"not gzip", {"Content-Encoding": "gzip"})
    assert errors_logged(caplog) == []
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    conn.close()
    counted = [line for line in metrics.splitlines() if line.startswith("flowhooks_malformed")]
    assert counted and all(float(line.rsplit(" ", 1)[1]) >= 1 for line in counted), counted
