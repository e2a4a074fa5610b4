"""Flow traces (issue 26) on SQLite and PostgreSQL: a flow's envelopes kept with their
secrets "***" (and nowhere in the database in clear), searched by filter and keyset,
private to their client, exported as replay cases that replay green against the same
config and show a diff when the calendar changes; a full queue drops traces without
holding answers back; the retention job purges them."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from flowhooks import replay
from flowhooks.settings import Settings
from flowhooks.storage import Storage
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from flowhooks.workers.retention import purge_once
from tests.conftest import NEUTRAL, answer_keys, envelope
from tests.fakes import GOOGLE_KEY, GOOGLE_PATH, FakeGoogleTranslate, wait_for
from tests.outbound_conf import OTHER_TOKEN, SECRET, TOKEN, create, outbound_conf

CALL = "call-0001"
HOURS = '[calendars.default]\ntimezone = "Asia/Kolkata"\nhours = "{hours}"\n'


def traces_conf(db_url: str, google: str = "http://127.0.0.1:9", extra: str = "") -> Settings:
    return outbound_conf(
        db_url,
        extra=f"""
[translate]
endpoint = "{google}{GOOGLE_PATH}"
api_key = "{GOOGLE_KEY}"
{HOURS.format(hours="09:00-18:00")}
{extra}
""",
    )


async def get(client: Any, path: str = "", token: str = TOKEN, **params: str) -> Any:
    return await client.get(
        f"/api/v1/traces{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


async def traces(client: Any, token: str = TOKEN, **params: str) -> list[dict[str, Any]]:
    resp = await get(client, token=token, **params)
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    found: list[dict[str, Any]] = doc["traces"]
    return found


async def wait_traces(client: Any, count: int, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal found
        found = await traces(client, limit="1000", **params)
        return len(found) >= count

    for _ in range(500):  # the writer flushes every 250 ms; generous under load
        if await enough():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(found)} traces, waited for {count}")


async def post(client: Any, doc: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    headers = {"X-Flowhooks-Now": now} if now else {}
    resp = await client.post("/webhook", json=doc, headers=headers)
    body: dict[str, Any] = await resp.json()
    return body


async def a_flow(client: Any) -> list[dict[str, Any]]:
    """One call's envelopes: a date check, a callback booked, a text translated, a
    preference stored."""
    bodies = [
        await post(
            client,
            envelope(
                "validateDateTime",
                inputDate="25-12-2026",
                inputTime="11:00",
                clientID="acme",
                callId=CALL,
                cli="99797 46666",
            ),
        ),
        await post(client, create("9979746666", callId=CALL)),
        await post(
            client,
            envelope(
                "translateText",
                inputText="My name is John",
                sourceLang="English",
                targetLang="Hindi",
                apiKey=GOOGLE_KEY,
                clientID="acme",
                callId=CALL,
            ),
        ),
        await post(
            client,
            envelope(
                "updateUserPreferences",
                contactNumber="+91 99797 46666",
                clientID="acme",
                callId=CALL,
                **{"$user.key.lang": "hi"},
            ),
        ),
    ]
    return bodies


async def google(aiohttp_server: Any) -> str:
    server = await aiohttp_server(FakeGoogleTranslate().app())
    return str(server.make_url("")).rstrip("/")


async def database_text(db_url: str, tmp_path: Path) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or a dump of every
    PostgreSQL table."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(
            Path(f"{path}{suffix}").read_bytes()
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        )
    conn = await asyncpg.connect(db_url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        dump = []
        for row in tables:
            for record in await conn.fetch(f'SELECT t::text AS x FROM "{row[0]}" t'):
                dump.append(record["x"])
        return "\n".join(dump).encode()
    finally:
        await conn.close()


async def test_a_flow_is_traced_with_its_secrets_redacted_everywhere(
    make_client: Any, aiohttp_server: Any, db_url: str, tmp_path: Path
) -> None:
    client = await make_client(traces_conf(db_url, await google(aiohttp_server)))
    bodies = await a_flow(client)
    assert [b["status"] for b in bodies] == ["SUCCESS"] * 4, bodies
    found = await wait_traces(client, 4, callKey=CALL)
    assert [t_["method"] for t_ in found] == [
        "updateUserPreferences",
        "translateText",
        "createOutbound",
        "validateDateTime",
    ]  # newest first
    by_method = {t_["method"]: t_ for t_ in found}
    assert [t_["requestId"] for t_ in found] == [b["requestId"] for b in reversed(bodies)]
    outbound = by_method["createOutbound"]
    sent = {k["name"]: k["value"] for k in outbound["request"]["keys"]}
    assert sent["$flow.syskey.securityID"] == "***"
    assert sent["$flow.syskey.contactNumbers"] == "9979746666"
    assert outbound["cli"] == ""  # contactNumbers is not the caller
    assert outbound["httpStatus"] == 200 and outbound["status"] == "SUCCESS"
    answered = {k["name"]: k["value"] for k in outbound["answer"]["keys"]}
    assert answered == answer_keys(bodies[1])
    translated = {k["name"]: k["value"] for k in by_method["translateText"]["request"]["keys"]}
    assert translated["apiKey"] == "***" and translated["inputText"] == "My name is John"
    assert by_method["validateDateTime"]["cli"] == "+919979746666"
    assert by_method["updateUserPreferences"]["cli"] == "+919979746666"
    assert all(t_["callKey"] == CALL and t_["latencyMs"] >= 0 for t_ in found)
    assert all(t_["at"] for t_ in found) and not any(t_["cut"] for t_ in found)
    one = await get(client, f"/{outbound['requestId']}")
    assert one.status == 200 and await one.json() == outbound
    # nowhere in the database in clear
    stored = await database_text(db_url, tmp_path)
    assert b"securityID" in stored or b"securityid" in stored.lower()  # traces are there
    for secret in (SECRET, GOOGLE_KEY):
        assert secret.encode() not in stored, secret
