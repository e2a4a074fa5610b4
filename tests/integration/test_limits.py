"""Request limits held in the database (issue 14): the envelope's 429 for any method
naming a client over its ``max_requests_per_second``, shared by every process; and the
hot paths' PostgreSQL driver settings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import text

from flowhooks.errors import ConfigError
from flowhooks.limits import RequestLimits
from flowhooks.storage import Storage, migrations, prefs
from tests.conftest import ClientFactory, settings_from

NOW = "2026-11-21T10:00:00+00:00"
CONF = """
[testing]
allow_clock_override = true
[storage]
url = "{url}"
[clients.slow]
default_region = "IN"
max_requests_per_second = 2
[clients.fast]
default_region = "IN"
max_requests_per_second = 100000
"""


def fetch(client: str | None) -> dict[str, Any]:
    keys = [{"name": "$flow.key.contactNumber", "value": "9979746666"}]
    if client:
        keys.append({"name": "$flow.syskey.clientID", "value": client})
    return {"method": "fetchUserPreferences", "keys": keys}


async def test_any_method_naming_a_client_over_its_rate_is_answered_429(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(settings_from(CONF.format(url=db_url)))
    answers = []
    for _ in range(6):
        resp = await client.post("/webhook", json=fetch("slow"), headers={"X-Flowhooks-Now": NOW})
        answers.append((resp.status, resp.headers.get("Retry-After"), await resp.json()))
    statuses = [status for status, _, _ in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    _, retry_after, body = next(a for a in answers if a[0] == 429)
    assert retry_after == "1"
    assert body["status"] == "FAILED" and body["error"]["code"] == "RATE_LIMITED"
    assert "max_requests_per_second" in body["error"]["message"]
    keys = {k["name"]: k["value"] for k in body["keys"]}
    assert keys["$flow.key.errorCode"] == "RATE_LIMITED"
    for named in (None, "fast", "nobody-configured"):  # not naming a limited client
        for _ in range(6):
            resp = await client.post("/webhook", json=fetch(named))
            assert resp.status != 429


async def test_two_processes_share_one_budget(db_url: str) -> None:
    """Two limiters on two connections to one database (two processes' view): together
    they admit what the rate allows, not twice that."""
    conf = settings_from(CONF.format(url=db_url))
    one, two = Storage.open(db_url), Storage.open(db_url)
    try:
        await migrations.upgrade(one)
        limits = [RequestLimits(one, conf.clients), RequestLimits(two, conf.clients)]
        started = time.monotonic()
        results = []
        for i in range(40):
            results.append(await limits[i % 2].check("slow"))
        elapsed = time.monotonic() - started
        admitted = results.count(None)
        assert 2 <= admitted <= 2 + 2 * elapsed + 1, (admitted, elapsed)
        assert {r for r in results if r is not None} == {1}  # Retry-After seconds
    finally:
        await one.close()
        await two.close()


async def test_a_database_down_does_not_refuse_requests() -> None:
    from tests.pg import free_port

    conf = settings_from(CONF.format(url="sqlite:///:memory:"))
    down = Storage.open(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    try:
        assert await RequestLimits(down, conf.clients).check("slow") is None
    finally:
        await down.close()


@pytest.mark.postgres
async def test_a_database_too_slow_for_the_limiter_does_not_refuse_requests(pg_url: str) -> None:
    """The bucket's row is locked past the limiter's 0.5 s: the request goes on (fail
    open), the cut-off statement's connection is dropped cleanly, and the limiter asks
    again at its next lease."""
    conf = settings_from(CONF.format(url=pg_url))
    s = Storage.open(pg_url)
    try:
        await migrations.upgrade(s)
        assert await RequestLimits(s, conf.clients).check("slow") is None  # the row exists
        async with s.write() as conn:
            await conn.execute(text("SELECT 1 FROM rate_buckets FOR UPDATE"))
            started = time.monotonic()
            assert await RequestLimits(s, conf.clients).check("slow") is None
            assert time.monotonic() - started < 2
        results = [await RequestLimits(s, conf.clients).check("slow") for _ in range(8)]
        assert 1 in results  # the database answers again: the budget is spent
    finally:
        await s.close()


@pytest.mark.postgres
@pytest.mark.parametrize("cache", [True, False])
async def test_statement_cache_setting_reaches_the_driver(pg_url: str, cache: bool) -> None:
    """PgBouncer in transaction mode needs asyncpg's statement cache off: then no named
    prepared statement outlives a query on the session."""
    s = Storage.open(pg_url, driver_pool_size=1, statement_cache=cache)
    try:
        await migrations.upgrade(s)
        await prefs.update(s, "default", "+919979746666", {"lang": "hi"}, _now(), 10)
        assert await prefs.fetch(s, "default", "+919979746666") == {"lang": "hi"}
        [(named,)] = await s.rows(text("SELECT count(*) FROM pg_prepared_statements"), {})
        assert (named > 0) is cache
    finally:
        await s.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 21, 10, tzinfo=UTC)


def test_several_processes_are_refused_on_sqlite_naming_storage_url() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from("[server]\nprocesses = 2\n[storage]\nurl = 'sqlite:///var/x.db'\n")
    assert any("storage.url" in p and "postgresql" in p for p in caught.value.problems)
    conf = settings_from("[server]\nprocesses = 2\n[storage]\nurl = 'postgresql://h/db'\n")
    assert conf.server.processes == 2


def test_serve_processes_on_sqlite_exits_with_the_config_error(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowhooks import cli

    path = tmp_path / "f.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/f.db"\n')
    assert cli.main(["serve", "--config", str(path), "--processes", "3"]) == 2
    err = capsys.readouterr().err
    assert "storage.url" in err and "--processes 3" in err


async def test_concurrent_checks_of_one_client_take_one_lease_at_a_time(db_url: str) -> None:
    conf = settings_from(CONF.format(url=db_url))
    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        limits = RequestLimits(s, conf.clients)
        results = await asyncio.gather(*(limits.check("fast") for _ in range(500)))
        assert results.count(None) == 500  # one lease of 10,000 tokens serves them all
        async with s.read() as conn:
            tokens = await conn.scalar(text("SELECT tokens FROM rate_buckets"))
        assert 90_000 - 1 <= tokens <= 90_000 + 1  # 100,000 less one lease
    finally:
        await s.close()
