"""Webhook benchmarks (issue 10): deliveries per second from one process, event-to-delivery
lag at 200 events/s, and the reports CSV export rate with the server's memory growth.

Every number here is measured against a local receiver on 127.0.0.1 that answers 200.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench import loadgen
from flowhooks.storage import Storage, endpoints, migrations, outbox
from flowhooks.storage import tables as t
from flowhooks.vault import Vault
from flowhooks.webhooks.endpoints import new_secret
from flowhooks.webhooks.events import NewDelivery

BIN = Path(sys.executable).parent
TOKEN = "bench-api-token"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
STORED = "whk_bench"  # an endpoint made through the API (issue 25)


def _config(path: Path, db_url: str, receiver: str, port: int = 0, workers: bool = True) -> Path:
    path.write_text(
        f"""
[server]
port = {port}
log_level = "WARNING"
workers = {str(workers).lower()}
[storage]
url = "{db_url}"
[security]
allow_private_targets = true
secret_key = "{SECRET_KEY}"
[clients.bench]
api_token = "{TOKEN}"
default_region = "IN"
[clients.bench.webhooks.report]
url = "{receiver}/hook?id={{{{id}}}}"
secret = "whsec_{"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}"
[delivery]
concurrency = 32
per_endpoint = 32
poll_seconds = 0.25
"""
    )
    return path


class Receiver:
    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrivals.append((time.time(), orjson.loads(body)))
        return web.Response(text="ok")

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return runner, f"http://127.0.0.1:{port}"


async def _store_endpoint(storage: Storage, receiver: str, now: datetime) -> None:
    """The bench client's endpoint as POST /api/v1/webhooks would store it: sealed secret."""
    vault = Vault([SECRET_KEY])
    await endpoints.create(
        storage,
        {
            "id": STORED,
            "client": "bench",
            "url": f"{receiver}/hook?id={{{{id}}}}",
            "events": ["report"],
            "description": "bench",
            "enabled": True,
            "disabled_reason": None,
            "headers": {},
            "body": None,
            "username": None,
            "password_sealed": None,
            "secret_sealed": vault.seal(new_secret()),
            "old_secret_sealed": None,
            "old_secret_until": None,
            "created_at": now,
            "updated_at": now,
        },
        limit=20,
    )


async def _seed_outbox(db_url: str, count: int, stored: str | None = None) -> None:
    """``count`` due report events of the bench client: for its config hook, or (with
    ``stored``, a receiver's base URL) for an endpoint stored in the database."""
    storage = Storage.open(db_url)
    now = datetime.now(UTC)  # a benchmark, not the app: real time
    try:
        await migrations.upgrade(storage)
        if stored is not None:
            await _store_endpoint(storage, stored, now)
        found = [
            NewDelivery(
                str(uuid.uuid4()),
                f"msg_{uuid.uuid4().hex}",
                "bench",
                "report",
                {"id": f"r-{i}", "client": "bench", "n": str(i)},
                now,
                now + timedelta(hours=24),
                endpoint=STORED if stored is not None else None,
            )
            for i in range(count)
        ]
        for start in range(0, count, 1000):
            async with storage.write() as conn:
                await outbox.enqueue(conn, found[start : start + 1000])
    finally:
        await storage.close()


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "flowhooks"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def throughput(
    db_url: str, out: Path, count: int = 5000, stored: bool = False
) -> dict[str, object]:
    """``count`` due events, one ``flowhooks worker``: deliveries per second (to the
    config's hook, or with ``stored`` to an endpoint made through the API)."""
    receiver = Receiver()
    runner, base = await receiver.start()
    await _seed_outbox(db_url, count, base if stored else None)
    conf = _config(out / "deliveries.toml", db_url, base)
    proc = _start(["worker", "--config", str(conf)])
    try:
        deadline = time.monotonic() + 120
        while not receiver.arrivals and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        first = time.time()
        while len(receiver.arrivals) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        took = receiver.arrivals[-1][0] - first
    finally:
        _stop(proc)
        await runner.cleanup()
    return {
        "events": count,
        "delivered": len(receiver.arrivals),
        "seconds": round(took, 2),
        "per_second": round((len(receiver.arrivals) - 1) / took, 1) if took > 0 else 0,
    }


async def lag(
    db_url: str, out: Path, port: int, seconds: float = 10, rate: float = 200
) -> dict[str, object]:
    """pullreport at ``rate``/s into ``flowhooks serve``; lag = arrival - the report's time."""
    receiver = Receiver()
    runner, base = await receiver.start()
    conf = _config(out / "lag.toml", db_url, base, port=port)
    proc = _start(["serve", "--config", str(conf)])
    try:
        await loadgen.wait_ready(port)
        doc = {"method": "pullreport", "keys": [{"name": "clientID", "value": "bench"}]}
        request = loadgen.build_request("/webhook", orjson.dumps(doc))
        sent = await loadgen.run(port, request, connections=16, seconds=seconds, rate=rate)
        deadline = time.monotonic() + 30
        while len(receiver.arrivals) < sent.requests and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        _stop(proc)
        await runner.cleanup()
    lags = sorted(
        (at - datetime.fromisoformat(event["created_at"]).timestamp()) * 1000
        for at, event in receiver.arrivals
    )

    def pct(p: float) -> float:
        return round(lags[min(len(lags) - 1, int(len(lags) * p))], 1) if lags else 0.0

    return {
        "events": sent.requests,
        "delivered": len(lags),
        "lag_p50_ms": pct(0.5),
        "lag_p99_ms": pct(0.99),
        "lag_max_ms": round(lags[-1], 1) if lags else 0.0,
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def csv_export(db_url: str, out: Path, port: int, count: int = 100_000) -> dict[str, object]:
    """``count`` reports exported as one streamed CSV: rows/s and the server's RSS growth."""
    storage = Storage.open(db_url)
    now = datetime.now(UTC)  # a benchmark, not the app: real time
    try:
        await migrations.upgrade(storage)
        for start in range(0, count, 5000):
            rows = [
                {
                    "id": str(uuid.uuid4()),
                    "client": "bench",
                    "cli": "+919979746666",
                    "keys": {
                        "cli": "9979746666",
                        "callId": f"c-{i}",
                        "status": "ANSWER",
                        "disposition": "=SUM(A1)" if i % 7 == 0 else "sale",
                        "duration": str(i % 300),
                    },
                    "created_at": now,
                }
                for i in range(start, min(count, start + 5000))
            ]
            async with storage.write() as conn:
                await conn.execute(t.reports.insert(), rows)
    finally:
        await storage.close()
    conf = _config(out / "csv.toml", db_url, "http://127.0.0.1:9", port=port, workers=False)
    proc = _start(["serve", "--config", str(conf)])
    try:
        await loadgen.wait_ready(port)
        before = peak = _rss_kb(proc.pid)
        lines = 0
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/api/v1/reports?format=csv"
            async with session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                async for chunk in resp.content.iter_chunked(1 << 16):
                    lines += chunk.count(b"\n")
                    peak = max(peak, _rss_kb(proc.pid))
        took = time.perf_counter() - started
    finally:
        _stop(proc)
    return {
        "reports": count,
        "rows": lines - 1,
        "seconds": round(took, 2),
        "rows_per_second": round((lines - 1) / took),
        "rss_growth_mb": round((peak - before) / 1024, 1),
    }


class Hanging:
    """Endpoints that accept the connection, read the request and never answer."""

    def __init__(self) -> None:
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            await reader.read()  # until the sender gives up and closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _fairness_config(path: Path, db_url: str, healthy: str, hanging: str, clients: int) -> Path:
    """The shipped [delivery] defaults; ``clients`` clients whose two hooks both hang."""
    text = f"""
[server]
log_level = "WARNING"
[storage]
url = "{db_url}"
[security]
allow_private_targets = true
[clients.healthy.webhooks.report]
url = "{healthy}/hook"
"""
    for i in range(clients):
        for event in ("report", "call_status"):
            text += f'[clients.slow{i}.webhooks.{event}]\nurl = "{hanging}/slow{i}/{event}"\n'
    path.write_text(text)
    return path


async def fairness(
    db_url: str, out: Path, hanging_clients: int = 2, seconds: float = 60, rate: float = 3
) -> dict[str, object]:
    """Issue 22's starvation: every endpoint gets ``rate`` events a second for ``seconds``;
    the hanging clients' ``call_status`` and ``report`` hooks never answer, the healthy
    client's does at once. How many of the healthy client's events arrive, how late."""
    receiver, hanging = Receiver(), Hanging()
    runner, healthy = await receiver.start()
    server = await asyncio.start_server(hanging.serve, "127.0.0.1", 0)
    hanging_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    storage = Storage.open(db_url)
    await migrations.upgrade(storage)
    conf = _fairness_config(out / "fairness.toml", db_url, healthy, hanging_url, hanging_clients)
    proc = _start(["worker", "--config", str(conf)])
    endpoints = [("healthy", "report")] + [
        (f"slow{i}", event) for i in range(hanging_clients) for event in ("report", "call_status")
    ]
    produced = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            now = datetime.now(UTC)  # a benchmark, not the app: real time
            batch = [
                NewDelivery(
                    str(uuid.uuid4()),
                    f"msg_{uuid.uuid4().hex}",
                    client,
                    event,
                    {"id": f"{client}-{produced}", "t": repr(time.time())},
                    now,
                    now + timedelta(hours=24),
                )
                for client, event in endpoints
            ]
            async with storage.write() as conn:
                await outbox.enqueue(conn, batch)
            produced += 1
            await asyncio.sleep(max(0.0, started + produced / rate - time.monotonic()))
        during = len(receiver.arrivals)
        deadline = time.monotonic() + 30
        while len(receiver.arrivals) < produced and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        _stop(proc)
        server.close()
        await runner.cleanup()
        await storage.close()
    lags = sorted(at - float(event["t"]) for at, event in receiver.arrivals)

    def pct(p: float) -> float:
        return round(lags[min(len(lags) - 1, int(len(lags) * p))], 2) if lags else 0.0

    return {
        "hanging_endpoints": 2 * hanging_clients,
        "healthy_events": produced,
        "delivered_during_load": during,
        "delivered_30_s_after": len(receiver.arrivals),
        "lag_p50_s": pct(0.5),
        "lag_p99_s": pct(0.99),
        "lag_max_s": round(lags[-1], 2) if lags else 0.0,
        "attempts_to_hanging": hanging.requests,
    }
