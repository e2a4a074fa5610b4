"""Dispatch benchmark: calls falling due at a fixed rate, one `flowhooks worker`, a fake call API.

Lag = when the fake call API received the dial minus the call's due time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bench import loadgen
from flowhooks.outbound.model import NewCall, NewRequest
from flowhooks.storage import Storage, migrations
from flowhooks.storage import outbound as store
from tests.fakes import CLIENT_ID, CLIENT_SECRET, FakeCallProvider

BIN = Path(sys.executable).parent


def _config(path: Path, db_url: str, provider: str, poll: float) -> Path:
    path.write_text(
        f"""
[server]
log_level = "WARNING"
[storage]
url = "{db_url}"
[clients.bench]
security_id = "{"b" * 64}"
flows = ["bench001"]
max_calls_per_second = 1000
max_concurrent_calls = 10000
[dialer]
backend = "startcall"
poll_seconds = {poll}
[dialer.startcall]
token_url = "{provider}/token"
call_url = "{provider}/api/startcall"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
"""
    )
    return path


async def _seed(db_url: str, rate: float, seconds: float, start: datetime) -> dict[str, float]:
    """rate*seconds calls due from ``start`` on, one every 1/rate s; number -> due (epoch)."""
    count = int(rate * seconds)
    storage = Storage.open(db_url)
    due: dict[str, float] = {}
    try:
        await migrations.upgrade(storage)
        calls = []
        for i in range(count):
            at = start + timedelta(seconds=i / rate)
            number = f"+9198{i:08d}"
            calls.append(NewCall(f"bench-{i:06d}-{start.timestamp()}", i, number, "UTC", at))
            due[number] = at.timestamp()
        req = NewRequest(
            f"bench-{start.timestamp()}",
            "bench",
            "bench001",
            0,
            "",
            "",
            f"k{start}",
            "f",
            start,
            1,
            calls,
            {},
            "bench",
        )
        await store.create(storage, req, datetime.now(UTC))
    finally:
        await storage.close()
    return due


async def run(
    db_url: str, out: Path, rate: float = 200.0, seconds: float = 10.0, poll: float = 0.2
) -> dict[str, object]:
    fake = FakeCallProvider()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    port = loadgen_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    conf = _config(out / "dispatch.toml", db_url, f"http://127.0.0.1:{port}", poll)
    start = datetime.now(UTC) + timedelta(seconds=3)
    due = await _seed(db_url, rate, seconds, start)
    worker = subprocess.Popen(
        [str(BIN / "flowhooks"), "worker", "--config", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + seconds + 60
        while len(fake.calls) < len(due) and time.time() < deadline:
            await asyncio.sleep(0.1)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        await runner.cleanup()
    lags = sorted(
        at - due[c["destination"]] for c, at in zip(fake.calls, fake.arrivals, strict=True)
    )
    span = fake.arrivals[-1] - fake.arrivals[0] if len(fake.arrivals) > 1 else 0.0
    result = loadgen.Result(len(lags), len(due) - len(lags), span, [max(x, 0.0) for x in lags])
    return {
        "calls": len(due),
        "dialed": len(fake.calls),
        "duplicates": len(fake.calls) - len(set(c["destination"] for c in fake.calls)),
        "rate_offered": rate,
        "rate_achieved": round(len(lags) / span, 1) if span else 0.0,
        "lag_p50_ms": round(result.pct(50), 1),
        "lag_p99_ms": round(result.pct(99), 1),
        "lag_max_ms": round(max(lags) * 1000, 1) if lags else 0.0,
        "poll_seconds": poll,
    }


async def fresh_database(cluster_db_url: str) -> str:
    """A new empty database on the same PostgreSQL server (earlier benchmarks leave calls)."""
    import asyncpg

    base = cluster_db_url.rsplit("/", 1)[0]
    name = f"dispatch_{int(time.time())}"
    conn = await asyncpg.connect(cluster_db_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


def loadgen_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
