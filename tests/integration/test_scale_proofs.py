"""Proofs of the scale-out path with real processes on one PostgreSQL (issue 14).

* Two ``flowhooks serve`` processes: a retry storm of one createOutbound spread over
  both schedules one call; preferences written through one are read through the
  other; a client over its request rate is answered 429 by both.
* Two ``flowhooks worker`` processes and a client at 5 calls/s dial at most 5.5/s.
* ``flowhooks serve --processes 2`` (gunicorn): a killed worker is replaced, SIGHUP
  replaces every worker while requests keep being answered, SIGTERM stops cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from flowhooks.storage import Storage
from flowhooks.storage import tables as t
from tests.fakes import FakeCallProvider, wait_for
from tests.integration.test_proofs import config, process, seed
from tests.outbound_conf import create
from tests.pg import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SLOW_CLIENT = """
[clients.slow]
default_region = "IN"
max_requests_per_second = 2
"""


def serve_config(path: Path, pg_url: str, port: int, extra: str = "") -> Path:
    config(path, pg_url, "http://127.0.0.1:9", port=port)
    path.write_text(path.read_text() + extra)
    return path


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{port}/healthz") as r,
        ):
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def envelope(
    session: aiohttp.ClientSession, port: int, doc: dict[str, Any]
) -> tuple[int, dict[str, str], dict[str, str]]:
    async with session.post(f"http://127.0.0.1:{port}/webhook", json=doc) as resp:
        body = await resp.json()
        keys = {k["name"]: k["value"] for k in body["keys"]}
        return resp.status, keys, dict(resp.headers)


def prefs_doc(method: str, client: str, **values: str) -> dict[str, Any]:
    keys = [{"name": "contactNumber", "value": "9979746666"}, {"name": "clientID", "value": client}]
    keys += [{"name": f"$user.key.{k}", "value": v} for k, v in values.items()]
    return {"method": method, "keys": keys}


async def test_two_serve_processes_on_one_postgres_act_as_one(pg_url: str, tmp_path: Path) -> None:
    a, b = free_port(), free_port()
    conf_a = serve_config(tmp_path / "a.toml", pg_url, a, SLOW_CLIENT)
    conf_b = serve_config(tmp_path / "b.toml", pg_url, b, SLOW_CLIENT)
    with process("serve", "--config", str(conf_a)), process("serve", "--config", str(conf_b)):
        await wait_for(lambda: healthy(a), timeout=60, interval=0.1)
        await wait_for(lambda: healthy(b), timeout=60, interval=0.1)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            doc = create("9979746666", idempotencyKey="storm-1")
            answers = await asyncio.gather(
                *(envelope(session, (a, b)[i % 2], doc) for i in range(40))
            )
            assert {status for status, _, _ in answers} == {200}
            assert len({keys["$flow.key.obdReqID"] for _, keys, _ in answers}) == 1

            status, _, _ = await envelope(
                session, a, prefs_doc("updateUserPreferences", "acme", lang="ta", tier="gold")
            )
            assert status == 200
            _, keys, _ = await envelope(session, b, prefs_doc("fetchUserPreferences", "acme"))
            assert (keys["$user.key.lang"], keys["$user.key.tier"]) == ("ta", "gold")

            limited = await asyncio.gather(
                *(
                    envelope(session, (a, b)[i % 2], prefs_doc("fetchUserPreferences", "slow"))
                    for i in range(20)
                )
            )
    storage = Storage.open(pg_url)
    try:
        async with storage.read() as conn:
            calls = await conn.scalar(select(func.count()).select_from(t.outbound_calls))
    finally:
        await storage.close()
    assert calls == 1  # forty tries over two processes, one call
    by_port = {port: [s for i, (s, _, _) in enumerate(limited) if (a, b)[i % 2] == port]
               for port in (a, b)}  # fmt: skip
    assert 429 in by_port[a] and 429 in by_port[b]
    assert sum(s == 200 for s, _, _ in limited) <= 4  # the burst of 2, maybe a second's 2
    assert all(h.get("Retry-After") == "1" for s, _, h in limited if s == 429)


async def test_two_dispatchers_keep_a_client_to_its_calls_per_second(
    pg_url: str, aiohttp_server: Any, tmp_path: Path
) -> None:
    fake = FakeCallProvider()
    server = await aiohttp_server(fake.app())
    conf = config(tmp_path / "w.toml", pg_url, str(server.make_url("")).rstrip("/"))
    conf.write_text(
        conf.read_text().replace("max_calls_per_second = 1000", "max_calls_per_second = 5")
    )
    with (
        process("worker", "--config", str(conf)) as one,
        process("worker", "--config", str(conf)) as two,
    ):
        await wait_for(lambda: one.said("dispatching") and two.said("dispatching"), timeout=60)
        await seed(pg_url, 300)

        def spanned() -> bool:
            return len(fake.arrivals) > 1 and fake.arrivals[-1] - fake.arrivals[0] >= 20

        await wait_for(spanned, timeout=60, interval=0.2)
    first = fake.arrivals[0]
    in_window = [at for at in fake.arrivals if at - first < 20]
    rate = len(in_window) / 20
    assert 4.0 <= rate <= 5.5, rate  # 5/s and a burst of 5 at the start: at most 5.25/s
    storage = Storage.open(pg_url)
    try:
        async with storage.read() as conn:
            owners = await conn.scalar(
                select(func.count(t.call_events.c.source.distinct())).where(
                    t.call_events.c.to_state == "dialing"
                )
            )
    finally:
        await storage.close()
    assert owners == 2  # both dispatchers claimed calls


def children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


async def test_serve_processes_replaces_dead_workers_and_restarts_gracefully(
    pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    conf = serve_config(tmp_path / "g.toml", pg_url, port)
    with process("serve", "--processes", "2", "--config", str(conf)) as master:
        await wait_for(lambda: healthy(port), timeout=60, interval=0.1)
        await wait_for(lambda: len(children(master.pid)) == 2, timeout=30)
        first = children(master.pid)
        os.kill(min(first), signal.SIGKILL)  # a worker dies

        def replaced() -> bool:
            now = children(master.pid)
            return len(now) == 2 and min(first) not in now

        await wait_for(replaced, timeout=30, interval=0.1)
        await wait_for(lambda: healthy(port), timeout=30, interval=0.1)
        before = children(master.pid)
        failures: list[str] = []
        answered = 0
        stop = asyncio.Event()

        async def traffic() -> None:
            nonlocal answered
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
                while not stop.is_set():
                    try:
                        status, _, _ = await envelope(
                            s, port, prefs_doc("fetchUserPreferences", "acme")
                        )
                        answered += 1
                        if status != 200:
                            failures.append(str(status))
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        failures.append(repr(exc))

        running = asyncio.create_task(traffic())
        await wait_for(lambda: answered >= 20, timeout=30)
        os.kill(master.pid, signal.SIGHUP)  # graceful restart: every worker replaced

        def restarted() -> bool:
            now = children(master.pid)
            return len(now) == 2 and not now & before

        await wait_for(restarted, timeout=60, interval=0.1)
        settled = answered
        await wait_for(lambda: answered >= settled + 20, timeout=30)
        stop.set()
        await running
        assert failures == [], failures[:5]
        master.proc.send_signal(signal.SIGTERM)
        assert master.proc.wait(timeout=30) == 0
        assert master.said("Handling signal: hup")


WEBHOOKS_API = """
[security]
allow_private_targets = true
secret_key = "scale-proof-secret-key-0123456789abcdef"
[delivery]
poll_seconds = 0.05
"""


async def test_an_endpoint_made_through_one_process_is_seen_by_the_other_at_once(
    pg_url: str, aiohttp_server: Any, tmp_path: Path
) -> None:
    """Issue 25: no restart and no cache older than a second between two serve processes."""
    from tests.fakes import WebhookReceiver
    from tests.integration.test_webhooks import start_receiver

    receiver = WebhookReceiver()
    base = await start_receiver(aiohttp_server, receiver)
    a, b = free_port(), free_port()
    token = '\napi_token = "acme-api-token"\n'
    conf_a = serve_config(tmp_path / "a.toml", pg_url, a, WEBHOOKS_API)
    conf_b = serve_config(tmp_path / "b.toml", pg_url, b, WEBHOOKS_API)
    for path in (conf_a, conf_b):
        path.write_text(
            path.read_text().replace('flows = ["ab12cd34"]', 'flows = ["ab12cd34"]' + token)
        )
    conf_b.write_text(conf_b.read_text().replace("workers = false", "workers = true"))
    auth = {"Authorization": "Bearer acme-api-token"}
    with process("serve", "--config", str(conf_a)), process("serve", "--config", str(conf_b)):
        await wait_for(lambda: healthy(a), timeout=60, interval=0.1)
        await wait_for(lambda: healthy(b), timeout=60, interval=0.1)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
            api_a, api_b = f"http://127.0.0.1:{a}/api/v1", f"http://127.0.0.1:{b}/api/v1"
            async with s.post(f"{api_a}/webhooks", json={"url": f"{base}/one"}, headers=auth) as r:
                assert r.status == 201
                hook_id = (await r.json())["webhookId"]
            async with s.get(f"{api_b}/webhooks/{hook_id}", headers=auth) as r:
                assert r.status == 200  # B sees it at once
            status, keys, _ = await envelope(s, b, create("9979746666", webhookId=hook_id))
            assert status == 200, keys
            async with s.post(f"{api_b}/webhooks/{hook_id}/test", headers=auth) as r:
                assert r.status == 202
            await wait_for(lambda: any(x.path == "/one" for x in receiver.received), timeout=10)
            patch = {"url": f"{base}/two"}
            async with s.patch(f"{api_a}/webhooks/{hook_id}", json=patch, headers=auth) as r:
                assert r.status == 200
            await asyncio.sleep(1.05)  # the freshness bound itself: then B must know
            async with s.post(f"{api_b}/webhooks/{hook_id}/test", headers=auth) as r:
                assert r.status == 202
            await wait_for(lambda: any(x.path == "/two" for x in receiver.received), timeout=10)
            async with s.delete(f"{api_a}/webhooks/{hook_id}", headers=auth) as r:
                assert r.status == 204
            async with s.post(f"{api_b}/webhooks/{hook_id}/test", headers=auth) as r:
                assert r.status == 404
            status, _, _ = await envelope(s, b, create("9979746667", webhookId=hook_id))
            assert status == 422
