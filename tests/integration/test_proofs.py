"""Proof that nothing is lost or doubled, with real processes (SPEC 2.2, issue 4).

* Two ``flowhooks worker`` processes on one PostgreSQL dispatch 1,000 due calls to a
  local fake call API: every call is dialed exactly once.
* ``flowhooks serve`` is killed with SIGKILL while answering createOutbound; after a
  restart every request that got a 200 has its calls, each dialed exactly once (by a
  worker process that keeps running), and no call exists without its request.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from flowhooks.outbound.model import NewCall, NewRequest
from flowhooks.storage import Storage, migrations
from flowhooks.storage import outbound as store
from flowhooks.storage import tables as t
from tests.conftest import NEUTRAL
from tests.fakes import CLIENT_ID, CLIENT_SECRET, FakeCallProvider, wait_for
from tests.outbound_conf import SECRET, create
from tests.pg import free_port

pytestmark = pytest.mark.slow
EXE = shutil.which("flowhooks", path=str(Path(sys.executable).parent))


def config(path: Path, db_url: str, provider: str, port: int = 0, workers: bool = False) -> Path:
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
workers = {str(workers).lower()}
log_level = "WARNING"
[storage]
url = "{db_url}"
[testing]
clock_start = "{NEUTRAL.isoformat()}"
[clients.acme]
security_id = "{SECRET}"
default_region = "IN"
flows = ["ab12cd34"]
max_calls_per_second = 1000
max_concurrent_calls = 5000
max_requests_per_second = 100000
retry_minutes = 60
[dialer]
backend = "startcall"
poll_seconds = 0.05
lease_seconds = 20
[dialer.startcall]
token_url = "{provider}/token"
call_url = "{provider}/api/startcall"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
timeout_seconds = 5
"""
    )
    return path


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def said(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")


@contextmanager
def process(*args: str) -> Iterator[Running]:
    """A flowhooks process; its log goes to a file that is printed if the test fails."""
    assert EXE is not None
    log = Path(args[-1]).with_suffix(f".{args[0]}.{os.urandom(2).hex()}.log")
    with log.open("wb") as sink:
        proc = subprocess.Popen([EXE, *args], stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield Running(proc, log)
    except BaseException:
        print(f"--- {' '.join(args)}\n{log.read_text()[-4000:]}")
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def seed(db_url: str, count: int) -> list[str]:
    """``count`` due calls, stored the way createOutbound stores them."""
    storage = Storage.open(db_url)
    now = NEUTRAL  # the processes' clocks start there too ([testing] clock_start)
    numbers = [f"+9199797{i:05d}" for i in range(count)]
    try:
        await migrations.upgrade(storage)
        calls = [NewCall(f"call-{i:05d}", i, n, "UTC", now) for i, n in enumerate(numbers)]
        req = NewRequest(
            "req-1", "acme", "ab12cd34", 0, "", "", "k", "f", now, 3, calls, {}, "seed"
        )
        await store.create(storage, req, now)
    finally:
        await storage.close()
    return numbers


async def call_states(db_url: str) -> dict[str, int]:
    storage = Storage.open(db_url)
    try:
        return await store.depth(storage, NEUTRAL)
    finally:
        await storage.close()


@pytest.mark.postgres
async def test_two_workers_on_postgres_dial_1000_calls_exactly_once(
    pg_url: str, aiohttp_server: Any, tmp_path: Path
) -> None:
    fake = FakeCallProvider()
    server = await aiohttp_server(fake.app())
    conf = config(tmp_path / "w.toml", pg_url, str(server.make_url("")).rstrip("/"))
    with (
        process("worker", "--config", str(conf)) as one,
        process("worker", "--config", str(conf)) as two,
    ):
        # both dispatching before anything is due: on a busy machine one worker could
        # otherwise start late and find every call already dialed by the other
        await wait_for(lambda: one.said("dispatching") and two.said("dispatching"), timeout=60)
        numbers = await seed(pg_url, 1000)
        await wait_for(lambda: len(fake.calls) >= 1000, timeout=120, interval=0.1)

        async def settled() -> bool:
            return (await call_states(pg_url)).get("initiated") == 1000

        await wait_for(settled, timeout=60, interval=0.2)
    dialed = fake.dialed()
    assert len(fake.calls) == 1000
    assert set(dialed) == set(numbers) and set(dialed.values()) == {1}
    storage = Storage.open(pg_url)
    try:
        async with storage.read() as conn:
            owners = (
                (
                    await conn.execute(
                        select(t.call_events.c.source)
                        .where(t.call_events.c.to_state == "initiated")
                        .distinct()
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await storage.close()
    assert len(owners) == 2  # both workers took part


async def test_sigkill_while_answering_loses_nothing_and_doubles_nothing(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    fake = FakeCallProvider()
    server = await aiohttp_server(fake.app())
    db_url = f"sqlite:///{tmp_path}/flowhooks.db"
    port = free_port()
    provider = str(server.make_url("")).rstrip("/")
    serve_conf = config(tmp_path / "serve.toml", db_url, provider, port=port)
    worker_conf = config(tmp_path / "worker.toml", db_url, provider)
    url = f"http://127.0.0.1:{port}/webhook"
    answered: dict[str, list[str]] = {}  # obdReqID -> call ids, for every 200 received

    async def send(session: aiohttp.ClientSession, i: int) -> None:
        doc = create(f"9{i:09d}".replace("90", "98", 1), idempotencyKey=f"k-{i}")
        try:
            async with session.post(url, json=doc) as resp:
                body = await resp.json()
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return  # no answer: the caller would retry with the same key
        keys = {k["name"]: k["value"] for k in body["keys"]}
        if resp.status == 200 and keys.get("$flow.key.obdResponseCode") == "200":
            answered[keys["$flow.key.obdReqID"]] = keys["$flow.key.obdPhononUUID"].split(",")

    async def ready() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(url.replace("/webhook", "/healthz")) as r,
            ):
                return r.status == 200
        except aiohttp.ClientError:
            return False

    with process("worker", "--config", str(worker_conf)):
        with process("serve", "--config", str(serve_conf)) as serve:
            await wait_for(ready, timeout=30, interval=0.1)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                tasks = [asyncio.create_task(send(session, i)) for i in range(400)]
                await wait_for(lambda: len(answered) >= 100, timeout=60)
                os.kill(serve.pid, signal.SIGKILL)  # mid-traffic
                await asyncio.gather(*tasks)
        killed_with = len(answered)
        assert 100 <= killed_with < 400, killed_with
        with process("serve", "--config", str(serve_conf)):  # the restart
            await wait_for(ready, timeout=30, interval=0.1)
            expected = {cid for ids in answered.values() for cid in ids}

            async def all_dialed() -> bool:
                return len(fake.calls) >= len(expected)

            await wait_for(all_dialed, timeout=60, interval=0.1)
            await asyncio.sleep(0)  # nothing more is due; the counts below are final
            storage = Storage.open(db_url)
            try:
                async with storage.read() as conn:
                    calls = (await conn.execute(select(t.outbound_calls))).all()
                    requests = set(
                        (await conn.execute(select(t.outbound_requests.c.id))).scalars().all()
                    )
            finally:
                await storage.close()
    by_id = {c.id: c for c in calls}
    assert set(answered) <= requests  # every 200 is stored ...
    assert expected <= set(by_id)  # ... with its calls
    assert all(c.request_id in requests for c in calls)  # no call without its request
    dialed = fake.dialed()
    assert all(dialed[by_id[cid].number] == 1 for cid in expected)  # each dialed exactly once
    assert set(dialed.values()) == {1} and len(fake.calls) == len(calls)
