"""Issue 22: every /api/v1 list route reads its query parameters through one validation
(``flowhooks/web/params.py``): a bad ``limit``, ``cursor`` or time is a 400
``BAD_PARAMETER`` naming the parameter, never a 200 that ignored it, a 422, or a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ClientFactory, settings_from

TOKEN = "acme-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONF = f"""
[clients.acme]
api_token = "{TOKEN}"
default_region = "IN"
[[agents]]
client = "acme"
cli = "+919800000001"
name = "Asha"
did = "+918068000000"
"""
LISTS = ["/api/v1/reports", "/api/v1/deliveries", "/api/v1/agents/9800000001/history"]


async def _bad(client: Any, path: str, **params: str) -> dict[str, Any]:
    resp = await client.get(path, params=params, headers=AUTH)
    body: dict[str, Any] = await resp.json()
    assert resp.status == 400, (path, params, body)
    assert body["error"]["code"] == "BAD_PARAMETER"
    return body["error"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["-5", "0", "100000", "abc", "1.5", " 5", "\u0665"])
async def test_every_list_refuses_a_bad_limit_the_same_way(
    make_client: ClientFactory, path: str, limit: str
) -> None:
    client = await make_client(settings_from(CONF))
    error = await _bad(client, path, limit=limit)
    assert error["parameter"] == "limit" and error["message"].startswith("limit:")
    assert "1 to 1000" in error["message"]


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_takes_a_good_limit(make_client: ClientFactory, path: str) -> None:
    client = await make_client(settings_from(CONF))
    resp = await client.get(path, params={"limit": "1000"}, headers=AUTH)
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/deliveries"])
@pytest.mark.parametrize("cursor", ["-1", "x", "9" * 19, "9" * 20])
async def test_a_cursor_this_api_never_gave_is_refused(
    make_client: ClientFactory, path: str, cursor: str
) -> None:
    client = await make_client(settings_from(CONF))
    assert (await _bad(client, path, cursor=cursor))["parameter"] == "cursor"


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1970-12-31T23:59:59Z",
        "9000-01-01T00:00:00Z",
        "2026-11-23T10:00:00",
        "yesterday",
        "2026-11-23T10:00:00+05:30" + "0" * 60,
    ],
)
async def test_a_report_time_outside_the_clocks_years_is_a_400_naming_it(
    make_client: ClientFactory, name: str, fmt: str, value: str
) -> None:
    """``from=9999-12-31T23:59:59-14:00`` was a 500 (OverflowError binding it to SQL)."""
    client = await make_client(settings_from(CONF))
    error = await _bad(client, "/api/v1/reports", **{name: value, "format": fmt})
    assert error["parameter"] == name and error["message"].startswith(f"{name}:")


@pytest.mark.parametrize(
    "value", ["1971-01-01T00:00:00+14:00", "8999-12-31T23:59:59-12:00", "2026-11-23 10:00:00Z"]
)
async def test_a_report_time_inside_the_clocks_years_is_taken(
    make_client: ClientFactory, value: str
) -> None:
    """As X-Flowhooks-Now: ISO 8601 with an offset, years 1971-8999 (a '+' sent unescaped
    in a query arrives as a space, and is read as '+')."""
    client = await make_client(settings_from(CONF))
    for fmt in ("json", "csv"):
        resp = await client.get(
            "/api/v1/reports", params={"from": value, "to": value, "format": fmt}, headers=AUTH
        )
        assert resp.status == 200, await resp.text()


async def test_an_unescaped_plus_in_a_time_is_read_as_its_offset(
    make_client: ClientFactory,
) -> None:
    client = await make_client(settings_from(CONF))
    resp = await client.get("/api/v1/reports?from=2026-11-23T10:00:00+05:30", headers=AUTH)
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("path", LISTS)
async def test_an_empty_parameter_is_an_absent_one(make_client: ClientFactory, path: str) -> None:
    """As the README's ``?status=&event=&limit=&cursor=`` shows: empty means no filter."""
    client = await make_client(settings_from(CONF))
    resp = await client.get(f"{path}?limit=&cursor=&from=&to=&status=&event=", headers=AUTH)
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/outbound/a%00b", 404),
        ("DELETE", "/api/v1/outbound/a%00b", 404),
        ("POST", "/api/v1/deliveries/a%00b/retry", 404),
        ("GET", "/api/v1/outbound/" + "é" * 40, 404),
        ("GET", "/api/v1/reports?columns=a%00b&format=csv", 400),
        ("GET", "/api/v1/deliveries?status=%00", 400),
        ("GET", "/api/v1/reports?cursor=%1b", 400),
    ],
)
async def test_a_control_character_in_a_path_id_or_parameter_is_no_500(
    make_client: ClientFactory, db_url: str, method: str, path: str, status: int
) -> None:
    """A NUL is no PostgreSQL text: in a path id it was a 500 there."""
    from tests.outbound_conf import TOKEN as OUTBOUND_TOKEN
    from tests.outbound_conf import outbound_conf

    client = await make_client(outbound_conf(db_url))
    auth = {"Authorization": f"Bearer {OUTBOUND_TOKEN}"}
    resp = await client.request(method, path, headers=auth)
    assert resp.status == status, await resp.text()
