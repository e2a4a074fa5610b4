"""No query makes a /api/v1 list route answer 5xx (issue 22): Hypothesis fills every time
parameter /openapi.json declares (``format: date-time``: the reports' ``from``/``to``
today, any list route tomorrow) with instants near the ends of time in offsets from
-14:00 to +14:00, with malformed ones, with ``limit`` and ``cursor`` values, in JSON and
CSV. A refusal is a 400 BAD_PARAMETER naming a parameter that was sent."""

from __future__ import annotations

import http.client
import os
import tomllib
import urllib.parse
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
from flowhooks.web import openapi
from tests.conftest import NEUTRAL, ROOT
from tests.fuzz import moments
from tests.served import served

EXAMPLES = max(int(os.environ.get("FUZZ_EXAMPLES", "40")), 150)  # per route
AUTH = {"Authorization": "Bearer acme-api-token"}


def conf(url: str) -> settings_mod.Settings:
    raw = tomllib.loads((ROOT / "config" / "flowhooks.toml").read_text())
    raw["storage"] = {"url": url}
    raw["server"]["workers"] = False
    return settings_mod.validate(raw, "<fuzz>", {})


def time_routes() -> dict[str, list[str]]:
    """GET /api/v1 routes without path parameters -> their date-time query parameters."""
    doc = openapi.build(conf("sqlite:///:memory:"), load_registry())
    found: dict[str, list[str]] = {}
    for path, ops in doc["paths"].items():
        params = ops.get("get", {}).get("parameters", [])
        if not path.startswith("/api/v1") or any(p["in"] == "path" for p in params):
            continue
        times = [p["name"] for p in params if p["schema"].get("format") == "date-time"]
        if times:
            found[path] = times
    return found


ROUTES = time_routes()


def test_the_reports_times_are_declared_so_they_are_fuzzed() -> None:
    assert ROUTES.get("/api/v1/reports") == ["from", "to"]


JUNK = ["", "now", "2026-11-23", "2026-11-23T10:00:00", "1e400", "\x00", "+05:30", "x" * 300]


@st.composite
def queries(draw: st.DrawFn, names: list[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name in names:
        value = draw(
            st.one_of(st.none(), moments.instants(), st.sampled_from(moments.EXTREME_CLOCKS + JUNK))
        )
        if value is not None:
            query[name] = value
    if draw(st.booleans()):
        query["limit"] = draw(st.sampled_from(["1", "1000", "0", "-5", "100000", "abc"]))
    if draw(st.integers(0, 3)) == 0:
        query["cursor"] = draw(st.sampled_from(["1", "9" * 19, "9223372036854775807", "-1"]))
    if draw(st.booleans()):
        query["format"] = "csv"
    return query


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("params") / "params.db"
    with served(conf(f"sqlite:///{path}"), RunningClock(NEUTRAL)) as base:
        yield base


def check(status: int, body: bytes, query: dict[str, str]) -> None:
    assert status in (200, 400), (status, body[:300])
    if status == 400:
        error: dict[str, Any] = orjson.loads(body)["error"]
        assert error["code"] == "BAD_PARAMETER" and error["parameter"] in query, error


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_no_time_parameter_makes_a_5xx(base_url: str, path: str) -> None:
    conn = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(queries(ROUTES[path]))
    def run(query: dict[str, str]) -> None:
        conn.request("GET", f"{path}?{urllib.parse.urlencode(query)}", headers=AUTH)
        response = conn.getresponse()
        check(response.status, response.read(), query)

    try:
        run()
    finally:
        conn.close()
