"""Traces with real processes (issue 26): every trace of an answer given before SIGTERM
is in the database after a restart; ``flowhooks traces export`` writes them as replay
cases with a progress bar, and ``flowhooks replay`` runs them green."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import NEUTRAL, envelope
from tests.integration.test_proofs import EXE, process
from tests.pg import free_port

pytestmark = pytest.mark.slow
TOKEN = "acme-api-token"


def config(path: Path, db_url: str, port: int) -> Path:
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
workers = false
log_level = "WARNING"
[storage]
url = "{db_url}"
[testing]
clock_start = "{NEUTRAL.isoformat()}"
[calendars.default]
timezone = "Asia/Kolkata"
hours = "09:00-18:00"
[clients.acme]
api_token = "{TOKEN}"
default_region = "IN"
max_requests_per_second = 100000
"""
    )
    return path


async def ready(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not start")


async def send(base: str, count: int) -> list[str]:
    """``count`` envelopes, 16 at a time; the requestIds of the answers."""
    ids: list[str] = []
    gate = asyncio.Semaphore(16)

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        doc = envelope(
            "validateDateTime",
            inputDate=f"{i % 28 + 1:02d}-12-2026",
            inputTime="11:00",
            clientID="acme",
            callId=f"call-{i}",
            cli="9979746666",
        )
        async with gate, session.post(f"{base}/webhook", json=doc) as resp:
            body = await resp.json()
            assert resp.status == 200, body
            ids.append(body["requestId"])

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, i) for i in range(count)))
    return ids


async def stored_ids(base: str) -> list[str]:
    found: list[str] = []
    cursor = None
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        while True:
            params = {"limit": "1000"} | ({"cursor": cursor} if cursor else {})
            async with session.get(f"{base}/api/v1/traces", params=params, headers=headers) as resp:
                doc: dict[str, Any] = await resp.json()
            found += [t["requestId"] for t in doc["traces"]]
            cursor = doc["nextCursor"]
            if cursor is None:
                return found


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["serve", "with its writer", "serve --processes 2"])
async def test_traces_answered_before_sigterm_are_all_there_after_a_restart(
    db_url: str, tmp_path: Path, how: str
) -> None:
    """SIGTERM to the server; to the server and its writer process at once (a service
    manager signals the whole group); to gunicorn's master of two serving processes."""
    if how == "serve --processes 2" and not db_url.startswith("postgresql"):
        pytest.skip("several processes share only PostgreSQL")
    port = free_port()
    conf = config(tmp_path / "flowhooks.toml", db_url, port)
    base = f"http://127.0.0.1:{port}"
    several = ("--processes", "2") if how == "serve --processes 2" else ()
    with process("serve", *several, "--config", str(conf)) as first:
        await ready(base)
        answered = await send(base, 400)
        family = [w for c in children(first.pid) for w in [c, *children(c)]]
        first.proc.send_signal(signal.SIGTERM)  # at once: most traces are still queued
        if how == "with its writer":
            for writer in family:
                os.kill(writer, signal.SIGTERM)  # ignored: its server ends its input
        assert await asyncio.to_thread(first.proc.wait, 30) == 0
        assert not [p for p in family if alive(p)]  # each writer ended with its server
    with process("serve", "--config", str(conf)):
        await ready(base)
        assert sorted(await stored_ids(base)) == sorted(answered)
    if how != "serve":
        return
    out = tmp_path / "calls.jsonl"
    assert EXE is not None
    done = await asyncio.to_thread(
        subprocess.run,
        [EXE, "traces", "export", "--config", str(conf), "--client", "acme", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "400/400" in done.stderr  # the progress bar's last state
    assert done.stderr.splitlines()[-1] == "400 replay cases of 400 traces"
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(c["trace"]["requestId"] for c in cases) == sorted(answered)
    replayed = await asyncio.to_thread(
        subprocess.run,
        [EXE, "replay", str(out), "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replayed.returncode == 0, replayed.stdout[-2000:]
    assert replayed.stdout.splitlines()[-1] == "400 passed, 0 failed"
    bad = await asyncio.to_thread(
        subprocess.run,
        [EXE, "traces", "export", "--config", str(conf), "--client", "acme", "--from", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--from: not ISO 8601" in bad.stderr
    assert "an ISO 8601 instant with an offset" in bad.stderr


async def test_a_killed_server_leaves_no_writer_behind_and_its_traces_are_kept(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    conf = config(tmp_path / "flowhooks.toml", db_url, port)
    base = f"http://127.0.0.1:{port}"
    with process("serve", "--config", str(conf)) as first:
        await ready(base)
        answered = await send(base, 50)
        [writer] = children(first.pid)
        for _ in range(600):  # in the writer's hands: sent every 20 ms
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/metrics") as resp:
                    text = await resp.text()
            if "flowhooks_traces_written_total 50.0" in text:
                break
            await asyncio.sleep(0.05)
        # it has written: it runs below the serving process (answers first on a busy host)
        assert os.getpriority(os.PRIO_PROCESS, writer) > os.getpriority(
            os.PRIO_PROCESS, first.proc.pid
        )
        first.proc.kill()
        await asyncio.to_thread(first.proc.wait, 30)
        for _ in range(600):
            if not alive(writer):
                break
            await asyncio.sleep(0.05)
        assert not alive(writer)  # the end of its input ends it
    with process("serve", "--config", str(conf)):
        await ready(base)
        assert sorted(await stored_ids(base)) == sorted(answered)
