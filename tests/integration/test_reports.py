"""pullreport and GET /api/v1/reports on SQLite and PostgreSQL (SPEC 2.5), the SSRF guard's
resolver seam, and the retention job."""

from __future__ import annotations

import csv
import io
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from flowhooks.integrations.http import ForbiddenTarget, GuardedConnector, guarded
from flowhooks.settings import RetentionSettings
from flowhooks.storage import Storage, migrations
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from flowhooks.workers.retention import purge_once
from tests.fakes import WebhookReceiver, wait_for
from tests.integration.test_webhooks import hooks_conf, report, start_receiver
from tests.outbound_conf import OTHER_TOKEN, TOKEN, outbound_conf

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def get(client: Any, token: str = TOKEN, **params: str) -> Any:
    return await client.get(
        "/api/v1/reports", params=params, headers={"Authorization": f"Bearer {token}"}
    )


async def test_secrets_are_never_stored_and_the_report_webhook_carries_every_key(
    make_client: Any, aiohttp_server: Any, db_url: str
) -> None:
    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    client = await make_client(hooks_conf(db_url, base))
    rid = await report(
        client,
        cli="99797 46666",
        callId="c-1",
        disposition="=HYPERLINK()",
        securityID="s" * 64,
        apiKey="k-123",
        token="t-1",
        custToken="ct",
        password="pw",
        **{"$user.key.botSecret": "bs", "$user.key.Lang": "hi"},
    )
    resp = await get(client)
    doc = await resp.json()
    stored = doc["reports"][0]
    assert stored["reportId"] == rid
    assert stored["keys"] == {
        "cli": "99797 46666",
        "callid": "c-1",
        "disposition": "=HYPERLINK()",
        "Lang": "hi",
    }
    await wait_for(lambda: receiver.received, timeout=10)
    event = receiver.received[0].json()
    assert event["id"] == rid and event["client"] == "acme" and event["callid"] == "c-1"
    assert event["created_at"] == stored["createdAt"]
    db = Storage.open(db_url)
    try:
        async with db.read() as conn:
            rows = [str(r) for r in await conn.execute(t.reports.select())]
            rows += [str(r) for r in await conn.execute(t.deliveries.select())]
    finally:
        await db.close()
    for secret in ("s" * 64, "k-123", "t-1", "ct", "pw", "bs"):
        assert not any(secret in row for row in rows)


async def test_reports_page_by_cursor_exactly_once_while_new_ones_arrive(
    make_client: Any, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url))
    first = [await report(client, n=str(i)) for i in range(25)]
    seen: list[str] = []
    cursor = ""
    arrived: list[str] = []
    while True:
        params = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        doc = await (await get(client, **params)).json()
        seen += [r["reportId"] for r in doc["reports"]]
        arrived.append(await report(client, n="late"))  # a new one between pages
        cursor = doc["nextCursor"]
        if not cursor:
            break
    assert seen[:25] == first
    assert len(seen) == len(set(seen))
    assert set(seen) <= set(first) | set(arrived)


async def test_from_to_and_cli_filters(make_client: Any, db_url: str) -> None:
    client = await make_client(outbound_conf(db_url))
    a = await report(client, now="2026-11-20T10:00:00+05:30", cli="9979746666")
    b = await report(client, now="2026-11-21T10:00:00+05:30", cli="+91 99797 46667")
    c = await report(client, now="2026-11-22T10:00:00+05:30", cli="09979746666")

    async def ids(**params: str) -> list[str]:
        resp = await get(client, **params)
        assert resp.status == 200, await resp.text()
        return [r["reportId"] for r in (await resp.json())["reports"]]

    assert await ids(cli="+919979746666") == [a, c]
    assert await ids(cli="99797 46667") == [b]
    assert await ids(**{"from": "2026-11-21T04:30:00Z"}) == [b, c]  # inclusive
    assert await ids(to="2026-11-21T04:30:00Z") == [a]  # exclusive
    assert await ids(
        **{"from": "2026-11-21T00:00:00+05:30", "to": "2026-11-22T00:00:00+05:30"}
    ) == [b]
    other = await (await get(client, token=OTHER_TOKEN)).json()
    assert other["reports"] == []
    assert (await client.get("/api/v1/reports")).status == 401


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-11-21T10:00:00"}, "to"),
        ({"cli": "12"}, "cli"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "-1"}, "cursor"),
        ({"format": "xml"}, "format"),
        ({"format": "csv", "columns": ","}, "columns"),
    ],
)
async def test_a_malformed_parameter_is_400_naming_it(
    make_client: Any, params: dict[str, str], name: str
) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"))
    resp = await get(client, **params)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["parameter"] == name and name in body["error"]["message"]


async def test_csv_of_10000_reports_is_streamed_with_safe_cells(
    make_client: Any, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url))
    db = client.app[appkeys.DB]
    now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    rows = [
        {
            "id": f"r-{i:05d}",
            "client": "acme",
            "cli": "+919979746666",
            "keys": {"n": str(i), "formula": "=1+2" if i % 2 else "@x", "b": "z"},
            "request_id": "",
            "created_at": now + timedelta(seconds=i),
        }
        for i in range(10_000)
    ]
    async with db.write() as conn:
        await conn.execute(t.reports.insert(), rows)
    resp = await get(client, format="csv")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers.get("Transfer-Encoding") == "chunked"  # streamed, no length known
    table = list(csv.reader(io.StringIO(await resp.text())))
    assert table[0] == ["reportId", "createdAt", "b", "formula", "n"]
    assert len(table) == 10_001
    assert table[1] == ["r-00000", now.isoformat(), "z", "'@x", "0"]
    assert table[2][3] == "'=1+2" and table[-1][0] == "r-09999"
    picked = await get(client, format="csv", columns="n,missing", cli="9979746666")
    lines = list(csv.reader(io.StringIO(await picked.text())))
    assert lines[0] == ["reportId", "createdAt", "n", "missing"] and lines[1][2:] == ["0", ""]


# -- the SSRF guard's resolver seam ----------------------------------------------------


class ChosenResolver(AbstractResolver):
    """Answers chosen addresses per host name, in turn (a DNS that rebinds)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        found = self.answers[host].pop(0) if len(self.answers[host]) > 1 else self.answers[host][0]
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for a in found
        ]

    async def close(self) -> None:
        return None


async def test_the_connector_keeps_only_checked_addresses_and_rechecks_every_time() -> None:
    resolver = ChosenResolver(
        {
            "mixed.test": [["10.0.0.5", "93.184.216.34", "::ffff:127.0.0.1"]],
            "rebind.test": [["93.184.216.34"], ["169.254.169.254"]],
        }
    )
    connector = GuardedConnector(resolver=resolver, use_dns_cache=False)
    try:
        with guarded():
            mixed = await connector._resolve_host("mixed.test", 80)
            assert [r["host"] for r in mixed] == ["93.184.216.34"]
            assert [r["host"] for r in await connector._resolve_host("rebind.test", 80)] == [
                "93.184.216.34"
            ]
            with pytest.raises(ForbiddenTarget):
                await connector._resolve_host("rebind.test", 80)  # now private: refused
            with pytest.raises(ForbiddenTarget):
                await connector._resolve_host("::ffff:10.0.0.1", 80)  # literals too
        unguarded = await connector._resolve_host("mixed.test", 80)
        assert len(unguarded) == 3  # backends the operator configured are not guarded
    finally:
        await connector.close()


async def test_a_name_resolving_to_a_metadata_address_is_dead_without_a_connection(
    make_client: Any, db_url: str
) -> None:
    resolver = ChosenResolver({"hooks.customer.test": [["169.254.169.254", "10.1.1.1"]]})
    conf = hooks_conf(db_url, "", private=False, url="http://hooks.customer.test/hook")
    client = await make_client(conf, resolver=resolver)
    await report(client)

    async def dead() -> bool:
        resp = await client.get("/api/v1/deliveries", headers=AUTH)
        found = (await resp.json())["deliveries"]
        return bool(found) and found[0]["lastError"] == "forbidden_target"

    await wait_for(dead, timeout=10)
    assert "hooks.customer.test" in resolver.asked


# -- retention ---------------------------------------------------------------------------


async def test_retention_purges_old_rows_in_batches_and_keeps_the_rest(db_url: str) -> None:
    db = Storage.open(db_url)
    now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    old, new = now - timedelta(days=400), now - timedelta(days=1)
    try:
        await migrations.upgrade(db, now=now)
        async with db.write() as conn:
            await conn.execute(
                t.reports.insert(),
                [
                    {
                        "id": f"r{i}",
                        "client": "acme",
                        "keys": {},
                        "created_at": old if i < 25 else new,
                    }
                    for i in range(30)
                ],
            )
            await conn.execute(
                t.call_events.insert(),
                [
                    {
                        "call_id": "c",
                        "attempt": 1,
                        "kind": "state",
                        "source": "x",
                        "at": old if i < 7 else new,
                    }
                    for i in range(10)
                ],
            )
            await conn.execute(
                t.deliveries.insert(),
                [
                    {
                        "id": f"d{i}",
                        "event_id": f"msg_{i}",
                        "client": "acme",
                        "event": "report",
                        "variables": {},
                        "state": state,
                        "next_attempt_at": old,
                        "give_up_at": old,
                        "created_at": old,
                        "updated_at": old,
                    }
                    for i, state in enumerate(["delivered", "dead", "pending", "disabled"])
                ],
            )
            await conn.execute(
                t.outbound_keys.insert(),
                [
                    {
                        "client": "acme",
                        "key": "k1",
                        "fingerprint": "f",
                        "request_id": "r",
                        "expires_at": old,
                    },
                    {
                        "client": "acme",
                        "key": "k2",
                        "fingerprint": "f",
                        "request_id": "r",
                        "expires_at": now + timedelta(hours=1),
                    },
                ],
            )
        conf = RetentionSettings(batch_size=10)
        counts = await purge_once(db, conf, now)
        assert counts == {
            "call_events": 7,
            "reports": 25,
            "deliveries": 2,
            "idempotency_keys": 1,
            # the console's rows (issue 27): none made here
            "request_counts": 0,
            "request_latency": 0,
            "outbox_samples": 0,
            "signin_failures": 0,
            "delivery_attempts": 0,
        }
        async with db.read() as conn:
            left = (await conn.execute(t.deliveries.select())).all()
            assert sorted(r.state for r in left) == ["disabled", "pending"]  # unfinished kept
        again = await purge_once(db, conf, now)
        assert set(again.values()) == {0} and {"call_events", "delivery_attempts"} <= set(again)
    finally:
        await db.close()
