"""How fast the console's pages answer with a full database (issue 27: < 200 ms).

    .venv/bin/python bench/console.py                 # SQLite and PostgreSQL, 100,000 rows
    .venv/bin/python bench/console.py --rows 20000 --only sqlite

Seeds 100,000 outbound requests (one call each, three state changes), 100,000 webhook
deliveries (one attempt each; 5 % dead; half to the config's report hook, half spread
over the 20 webhooks the client made, the most it may have), 100,000 reports, 1,000
links with 30 days of clicks, 200 agents, 24 hours of request counts and 100,000 flow
traces (all in the last 24 hours: the most the client's home reads) straight into a
fresh database, then serves the real app in-process and asks each page ``--times`` times
as a signed-in client (the operator for its home), reporting the median and the slowest
answer. Runs on 127.0.0.1 only; stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent.parent))

from flowhooks import settings as settings_mod
from flowhooks.clock import FixedClock
from flowhooks.storage import Storage, migrations
from flowhooks.storage import tables as t
from flowhooks.vault import Vault
from flowhooks.web.app import create_app
from tests.pg import Cluster, missing_reason

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
CURSOR = "1795372200000000.50000"  # (at, seq): halfway through the traces
TRACE = f"bench{12345:016x}"  # of call CA-2469
BATCH = 5000
METHODS = ["validateDateTime"] * 5 + ["createOutbound", "fetchUserPreferences", "translateText"]
SECRET_KEY = "bench-console-secret-key-0123456789"
WEBHOOK, WEBHOOKS = "whk_bench%02d", 20
STATES = ["completed"] * 80 + ["busy"] * 8 + ["no-answer"] * 6 + ["failed"] * 4 + ["queued"] * 2


def conf(url: str) -> settings_mod.Settings:
    return settings_mod.validate(
        {
            "storage": {"url": url},
            "server": {"workers": False},
            "security": {"secret_key": SECRET_KEY},
            "console": {"admin_token": "bench-operator-token", "stats_seconds": 3600},
            "calendars": {"default": {"timezone": "Asia/Kolkata", "country": "IN"}},
            "clients": {
                "acme": {
                    "api_token": "acme-token",
                    "timezone": "Asia/Kolkata",
                    "webhooks": {"report": {"url": "https://hooks.example/r?id={{id}}"}},
                }
            },
        },
        "<bench>",
        {},
    )


async def _insert(storage: Storage, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with storage.write() as conn:
            await conn.execute(table.insert(), rows[start : start + BATCH])


async def seed(url: str, rows: int) -> None:
    storage = Storage.open(url)
    try:
        await migrations.upgrade(storage, now=NOW)
        span = timedelta(days=30) / rows
        requests, calls, events = [], [], []
        for i in range(rows):
            at = NOW - span * (rows - i)
            rid, cid = str(uuid.uuid4()), str(uuid.uuid4())
            state = STATES[i % len(STATES)]
            number = f"+9198{i % 100000:08d}"
            requests.append(
                {
                    "id": rid,
                    "client": "acme",
                    "flow_id": "ab12cd34",
                    "delay_minutes": 0,
                    "email": "",
                    "reference_id": "",
                    "answer": {},
                    "request_id": "",
                    "created_at": at,
                }
            )
            calls.append(
                {
                    "id": cid,
                    "request_id": rid,
                    "client": "acme",
                    "flow_id": "ab12cd34",
                    "position": 0,
                    "number": number,
                    "zone": "Asia/Kolkata",
                    "state": state,
                    "attempts": 1,
                    "max_attempts": 3,
                    "dial_errors": 0,
                    "due_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for n, (a, b) in enumerate(
                [(None, "queued"), ("queued", "dialing"), ("dialing", "initiated")]
            ):
                events.append(
                    {
                        "call_id": cid,
                        "attempt": 1,
                        "kind": "state",
                        "from_state": a,
                        "to_state": b,
                        "source": "bench",
                        "at": at + timedelta(seconds=n),
                    }
                )
        await _insert(storage, t.outbound_requests, requests)
        await _insert(storage, t.outbound_calls, calls)
        await _insert(storage, t.call_events, events)
        await _insert(storage, t.customer_webhooks, webhooks())
        deliveries, attempts, reports = [], [], []
        for i in range(rows):
            at = NOW - span * (rows - i)
            state = "dead" if i % 20 == 0 else ("pending" if i % 97 == 0 else "delivered")
            deliveries.append(
                {
                    "seq": i + 1,
                    "id": str(uuid.uuid4()),
                    "event_id": f"msg_{i}",
                    "client": "acme",
                    "event": "report",
                    "endpoint": "report" if i % 2 else WEBHOOK % (i // 2 % WEBHOOKS),
                    "variables": {"id": str(i), "cli": "+919800000001"},
                    "state": state,
                    "attempts": 1,
                    "next_attempt_at": at,
                    "give_up_at": at,
                    "last_status": 500 if state == "dead" else 200,
                    "created_at": at,
                    "updated_at": at,
                    "delivered_at": at if state == "delivered" else None,
                }
            )
            attempts.append(
                {
                    "delivery_seq": i + 1,
                    "attempt": 1,
                    "at": at,
                    "outcome": state,
                    "status": 500 if state == "dead" else 200,
                    "elapsed_ms": 12.0,
                }
            )
            reports.append(
                {
                    "id": str(uuid.uuid4()),
                    "client": "acme",
                    "cli": f"+9198{i % 5000:08d}",
                    "keys": {"cli": f"98{i % 5000:08d}", "disposition": "paid", "amount": str(i)},
                    "request_id": "",
                    "created_at": at,
                }
            )
        await _insert(storage, t.deliveries, deliveries)
        await _insert(storage, t.delivery_attempts, attempts)
        await _insert(storage, t.reports, reports)
        links = [
            {
                "code": f"BenchLink{i:05d}",
                "client": "acme",
                "long_url": f"https://x.example/{i}",
                "created_at": NOW - timedelta(minutes=i),
                "clicks": 100,
                "bot_clicks": 10,
            }
            for i in range(1000)
        ]
        await _insert(storage, t.links, links)
        today = NOW.date()
        await _insert(
            storage,
            t.link_days,
            [
                {
                    "code": "BenchLink00000",
                    "day": today - timedelta(days=d),
                    "clicks": d,
                    "bot_clicks": d // 3,
                }
                for d in range(30)
            ],
        )
        await _insert(
            storage,
            t.agents,
            [
                {
                    "client": "acme",
                    "cli": f"+9198000{i:05d}",
                    "name": f"Agent {i}",
                    "did": "+918068000000",
                    "paused": i % 3 == 0,
                    "allotments": 0,
                    "source": "api",
                    "updated_at": NOW,
                }
                for i in range(200)
            ],
        )
        hour = NOW.replace(minute=0)
        await _insert(
            storage,
            t.request_counts,
            [
                {
                    "hour": hour - timedelta(hours=h),
                    "method": m,
                    "http_status": 200,
                    "status": "SUCCESS",
                    "count": 1000,
                }
                for h in range(24)
                for m in ("validateDateTime", "createOutbound", "fetchUserPreferences")
            ],
        )
        await _insert(
            storage,
            t.outbox_samples,
            [
                {"at": NOW - timedelta(minutes=m), "client": "acme", "pending": 10, "dead": 5000}
                for m in range(1440)
            ],
        )
        await _insert(storage, t.traces, traces(rows))
        if storage.is_postgres:  # the statistics autovacuum keeps of tables this size
            async with storage.write() as conn:
                await conn.execute(text("ANALYZE"))
    finally:
        await storage.close()


def webhooks() -> list[dict[str, Any]]:
    """The client's webhooks (made through the API), their secrets sealed as it seals them."""
    vault = Vault([SECRET_KEY])
    return [
        {
            "id": WEBHOOK % n,
            "client": "acme",
            "url": f"https://crm.example/hooks/{n}?call={{{{id}}}}&token=t-{n}",
            "events": ["call_status", "report"],
            "description": f"CRM {n}",
            "enabled": n % 7 != 3,
            "disabled_reason": "HTTP 410" if n % 7 == 3 else None,
            "headers": {"X-Call": "{{id}}"},
            "body": None,
            "secret_sealed": vault.seal(f"whsec_{'A' * 32}"),
            "created_at": NOW - timedelta(days=30, minutes=n),
            "updated_at": NOW - timedelta(days=30),
        }
        for n in range(WEBHOOKS)
    ]


def traces(rows: int) -> list[dict[str, Any]]:
    """``rows`` traces of acme over the last 24 hours: a call every 5 envelopes, one in 7
    FAILED (NO_VALID_SLOT), one in 50 an HTTP 422; 5,000 callers."""
    pick = random.Random(7)
    keys = '[{"name":"inputDate","value":"25-12-2026"},{"name":"cli","value":"98%08d"},'
    keys += '{"name":"callId","value":"CA-%d"},{"name":"securityID","value":"***"}]'
    answer = '[{"name":"$flow.key.status","value":"%s"},{"name":"$flow.key.outputDate",'
    answer += (
        '"value":"2026-12-26T11:00:00+05:30"},{"name":"$flow.key.timeIsValid","value":"true"}]'
    )
    span = timedelta(hours=24) / rows
    found = []
    for i in range(rows):
        method = METHODS[i % len(METHODS)]
        failed = i % 7 == 0
        found.append(
            {
                "request_id": f"bench{i:016x}",
                "client": "acme",
                "at": NOW - span * (rows - i),
                "method": method,
                "http_status": 422 if i % 50 == 0 else 200,
                "status": "FAILED" if failed or i % 50 == 0 else "SUCCESS",
                "error_code": "NO_VALID_SLOT" if failed else "",
                "latency_ms": round(pick.lognormvariate(0.3, 0.8), 3),
                "cli": f"+9198{i % 5000:08d}",
                "call_key": f"CA-{i // 5}",
                "request": f'{{"method":"{method}","keys":{keys % (i % 5000, i // 5)}}}',
                "answer": answer % ("FAILED" if failed else "SUCCESS"),
                "cut": False,
            }
        )
    return found


def pages(detail: str) -> list[tuple[str, str]]:
    return [
        ("home (client)", "/console"),
        ("calls", "/console/calls"),
        ("calls, state=failed", "/console/calls?state=failed"),
        ("calls, state=cancelled (none)", "/console/calls?state=cancelled"),
        ("calls, number", "/console/calls?number=%2B919800012345"),
        ("a request", f"/console/calls/{detail}"),
        ("webhooks (a config hook and 20 made)", "/console/webhooks"),
        ("a webhook", "/console/webhooks/" + WEBHOOK % 0),
        ("deliveries", "/console/deliveries"),
        ("deliveries, a webhook", "/console/deliveries?endpoint=" + WEBHOOK % 0),
        ("deliveries, state=dead", "/console/deliveries?state=dead"),
        ("deliveries, a day", "/console/deliveries?from=2026-11-10T00:00&to=2026-11-11T00:00"),
        ("links", "/console/links"),
        ("a link", "/console/links/BenchLink00000"),
        ("reports", "/console/reports"),
        ("reports, cli", "/console/reports?cli=%2B919800001234"),
        ("agents", "/console/agents"),
        ("calendars", "/console/calendars"),
        ("playground", "/console/playground"),
        ("traces", "/console/traces"),
        ("traces, cli", "/console/traces?cli=9800001234"),
        ("traces, method and FAILED", "/console/traces?method=translateText&status=FAILED"),
        ("traces, errorCode", "/console/traces?errorCode=NO_VALID_SLOT"),
        ("traces, errorCode (none)", "/console/traces?errorCode=NOT_THERE"),
        ("traces, callKey", "/console/traces?callKey=CA-12345"),
        ("traces, an hour", "/console/traces?from=2026-11-22T20:00&to=2026-11-22T21:00"),
        ("traces, older page", "/console/traces?cursor=" + CURSOR),
        ("a trace", f"/console/traces/{TRACE}"),
        ("a call's envelopes", f"/console/traces/{TRACE}/call"),
        ("a call's export (JSONL)", "/console/traces.jsonl?callKey=CA-2469&format=replay"),
    ]


async def sign_in(client: TestClient[Any, Any], token: str) -> None:
    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf
    resp = await client.post(
        "/console/login", data={"csrf": csrf.group(1), "token": token}, allow_redirects=False
    )
    assert resp.status == 303


async def timed(client: TestClient[Any, Any], path: str, times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        resp = await client.get(path)
        await resp.read()
        spent.append((time.perf_counter() - started) * 1000)
        assert resp.status == 200, (path, resp.status)
    return spent


async def measure(url: str, times: int) -> list[tuple[str, float, float]]:
    storage = Storage.open(url)
    async with storage.read() as conn:
        from sqlalchemy import select

        detail = await conn.scalar(select(t.outbound_requests.c.id).limit(1))
    await storage.close()
    app = create_app(conf(url), clock=FixedClock(NOW))
    results = []
    async with TestClient(TestServer(app)) as client:
        await sign_in(client, "acme-token")
        for name, path in pages(str(detail)):
            spent = await timed(client, path, times)
            results.append((name, statistics.median(spent), max(spent)))
    async with TestClient(TestServer(create_app(conf(url), clock=FixedClock(NOW)))) as client:
        await sign_in(client, "bench-operator-token")
        spent = await timed(client, "/console", times)
        results.append(("home (operator)", statistics.median(spent), max(spent)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, default=100_000, help="calls, deliveries, reports, traces"
    )
    parser.add_argument("--times", type=int, default=20, help="answers timed a page")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database")
    args = parser.parse_args()
    found: dict[str, list[tuple[str, float, float]]] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/console.db"
            started = time.perf_counter()
            asyncio.run(seed(url, args.rows))
            print(f"sqlite: seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            found["SQLite"] = asyncio.run(measure(url, args.times))
    if args.only in (None, "postgresql") and missing_reason() is None:
        cluster = Cluster.start(durable=True)
        try:
            url = cluster.url + "/postgres"
            started = time.perf_counter()
            asyncio.run(seed(url, args.rows))
            print(f"postgresql: seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            found["PostgreSQL"] = asyncio.run(measure(url, args.times))
        finally:
            cluster.stop()
    kinds = list(found)
    print(
        f"\n{args.rows:,} calls, deliveries, reports and traces; {args.times} answers a page; ms\n"
    )
    print("| page | " + " | ".join(f"{k} median | {k} max" for k in kinds) + " |")
    print("|---|" + "---:|---:|" * len(kinds))
    for i, (name, _, _) in enumerate(found[kinds[0]]):
        cells = " | ".join(f"{found[k][i][1]:.1f} | {found[k][i][2]:.1f}" for k in kinds)
        print(f"| {name} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
