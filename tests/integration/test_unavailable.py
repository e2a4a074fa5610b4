"""When the database cannot be used (issue 22 item 3), against real databases put in
that state: PostgreSQL refusing connections, starting up / in recovery (57P03), shut
down under a session (57P01), out of connections (53300), read-only (25006), frozen
with SIGSTOP; SQLite out of space (SQLITE_FULL).

Every route answers 503 / FAILED ``STORAGE_UNAVAILABLE`` with the driver's reason,
never 500; /readyz shows the reason; the outage is logged once when it starts and once
when it ends, never a traceback a turn; a database that hangs costs a caller seconds,
and what was answered FAILED is never stored later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import select

from flowhooks.errors import StorageUnavailable
from flowhooks.settings import Settings
from flowhooks.storage import Storage, migrations
from flowhooks.storage import tables as t
from flowhooks.storage.database import Deadlines
from flowhooks.web import keys as appkeys
from tests.conftest import NEUTRAL, ClientFactory, answer_keys, envelope, settings_from
from tests.fakes import wait_for
from tests.integration.test_webhooks import SECRET as HOOK_SECRET
from tests.outbound_conf import SECRET, TOKEN, create
from tests.pg import Cluster, free_port, missing_reason

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CUST = "abcd1234"
BOT_TOKEN = "bot-123-token-secret"


def conf(db_url: str, workers: bool = False, **storage: float) -> Settings:
    """Every route that uses the database configured; deadlines short for the test."""
    deadlines = {
        "connect_timeout_seconds": 1.0,
        "acquire_timeout_seconds": 1.0,
        "statement_timeout_seconds": 1.0,
        "ping_timeout_seconds": 0.5,
        **storage,
    }
    lines = "\n".join(f"{k} = {v}" for k, v in deadlines.items())
    return settings_from(
        f"""
[server]
workers = {str(workers).lower()}
public_base_url = "https://s.acme.example/"
[storage]
url = "{db_url}"
{lines}
[dialer]
poll_seconds = 0.05
[delivery]
poll_seconds = 0.05
[links]
flush_seconds = 0.05
[testing]
allow_clock_override = true
[calendars.calling]
timezone = "Asia/Kolkata"
workdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
hours = "00:00-24:00"
[clients.acme]
security_id = "{SECRET}"
api_token = "{TOKEN}"
cust_token = "{CUST}"
default_region = "IN"
flows = ["ab12cd34"]
calling_calendar = "calling"
max_calls_per_second = 1000
max_concurrent_calls = 1000
[clients.acme.webhooks.report]
url = "http://127.0.0.1:9/hook"
secret = "{HOOK_SECRET}"
[security]
allow_private_targets = true
[bots.123]
url = "https://bot.example/chat"
token = "{BOT_TOKEN}"
client = "acme"
[providers.unifonic]
format = "unifonic"
username = "cb-user"
password = "cb-pass"
""",
        memory=False,
    )


def fresh_key() -> str:
    return uuid.uuid4().hex


# Every route that reaches the database: (what, method, path, JSON body or envelope).
REST = [
    ("GET", "/api/v1/outbound/obd-none"),
    ("DELETE", "/api/v1/outbound/obd-none"),
    ("GET", "/api/v1/deliveries"),
    ("POST", "/api/v1/deliveries/1/retry"),
    ("POST", "/api/v1/webhooks/report/enable"),
    ("GET", "/api/v1/agents/9800000001"),
    ("PUT", "/api/v1/agents/9800000001"),
    ("GET", "/api/v1/agents/9800000001/history"),
    ("GET", "/api/v1/reports"),
    ("POST", "/api/v1/shorten"),
    ("GET", "/api/v1/links/abcdefg"),
]
BODIES: dict[str, Any] = {
    "/api/v1/agents/9800000001": {"name": "Asha", "did": "08068000000"},
    "/api/v1/shorten": {"longUrl": "https://acme.example/pay", "custToken": CUST},
}


def envelopes() -> list[dict[str, Any]]:
    number = {"$flow.key.cli": "9979746666", "$flow.syskey.clientID": "acme"}
    return [
        create("9979746666", **{"$flow.key.idempotencyKey": fresh_key()}),
        envelope("fetchUserPreferences", **number),
        envelope("updateUserPreferences", **number, **{"$user.key.lang": "hi"}),
        envelope("updatePauseStatusForCLI", cli="9800000001", pauseStatus="pause", clientID="acme"),
        envelope("allocateAgent", did="8068000000", clientID="acme"),
        envelope("pullreport", clientID="acme", cli="9979746666"),
        envelope("shortURL", longUrl="https://acme.example/pay", custToken=CUST),
        envelope("linkcreation", cli="918160712345", botid="123", token=BOT_TOKEN),
    ]


async def every_route_is_unavailable(client: Any, reason: str) -> None:
    """Each route that uses the database answers 503 / FAILED STORAGE_UNAVAILABLE,
    naming the driver's ``reason``; none answers 500."""
    for method, path in REST:
        resp = await client.request(method, path, headers=AUTH, json=BODIES.get(path))
        body = await resp.json()
        assert resp.status == 503, (method, path, resp.status, body)
        assert body["error"]["code"] == "STORAGE_UNAVAILABLE", (method, path, body)
        assert reason in body["error"]["message"], (method, path, body)
    resp = await client.get("/s/abcdefg")
    assert resp.status == 503, await resp.text()
    resp = await client.post(
        "/callbacks/unifonic",
        json={"callId": "c-none", "status": "completed"},
        auth=None,
        headers={"Authorization": "Basic Y2ItdXNlcjpjYi1wYXNz"},
    )
    assert resp.status == 503, await resp.text()
    for doc in envelopes():
        resp = await client.post("/webhook", json=doc)
        keys = answer_keys(await resp.json())
        assert resp.status == 200, (doc["method"], resp.status, keys)
        assert keys["$flow.key.status"] == "FAILED", (doc["method"], keys)
        assert keys["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE", (doc["method"], keys)
        assert reason in keys["$flow.key.errorMessage"], (doc["method"], keys)
    resp = await client.get("/readyz")
    ready = await resp.json()
    assert resp.status == 503, ready
    assert ready["checks"]["database"]["ok"] is False
    assert reason in ready["checks"]["database"]["reason"], ready


def storage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flowhooks.storage"]


def no_tracebacks(caplog: pytest.LogCaptureFixture, *also: str) -> None:
    """No traceback; ERROR lines only from the storage (the outage's two) and ``also``
    (the dispatcher names each call whose dial result its lease will settle)."""
    crashed = [r for r in caplog.records if r.exc_info or r.levelno >= logging.CRITICAL]
    assert not crashed, [(r.name, r.getMessage()) for r in crashed]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(r.name in ("flowhooks.storage", *also) for r in errors), [
        (r.name, r.getMessage()) for r in errors
    ]


async def recovered(client: Any) -> None:
    """createOutbound is stored again, /readyz is ready again."""

    async def stored() -> bool:
        doc = create("9979746666", **{"$flow.key.idempotencyKey": fresh_key()})
        resp = await client.post("/webhook", json=doc)
        return bool(answer_keys(await resp.json())["$flow.key.status"] == "SUCCESS")

    await wait_for(stored, timeout=30, interval=0.1)

    async def ready() -> bool:
        return bool((await client.get("/readyz")).status == 200)

    await wait_for(ready, timeout=30, interval=0.1)


# -- a PostgreSQL of the test's own, for the states that take the whole server -----


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.thaw()
        cluster.stop()


@pytest.fixture
async def own_db(own_cluster: Cluster) -> AsyncIterator[str]:
    """A fresh database on the test's own cluster (running again if a test left it not)."""
    own_cluster.thaw()
    if not (own_cluster.data / "postmaster.pid").exists():
        own_cluster.resume()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(own_cluster.url + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{own_cluster.url}/{name}"


async def quiet_recovery(client: Any) -> None:
    """The outage ends as soon as a use succeeds (the test does not wait 5 s)."""
    client.app[appkeys.DB].availability.quiet_seconds = 0.2


@pytest.mark.postgres
async def test_postgres_in_recovery_is_unavailable_on_every_route_and_logged_once(
    own_cluster: Cluster,
    own_db: str,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """57P03 (starting up, in recovery: the seconds after a crash or a failover) is the
    database unavailable on the SQLAlchemy paths too, not a 500; the loops keep turning
    without a traceback; one ERROR line when it starts, one when it ends."""
    client = await make_client(conf(own_db, workers=True))
    await quiet_recovery(client)
    dispatcher = client.app[appkeys.DISPATCHER]
    caplog.set_level(logging.DEBUG, logger="flowhooks")
    own_cluster.enter_recovery()
    try:
        await every_route_is_unavailable(client, "the database system is")
        turned = dispatcher.alive_at
        await wait_for(lambda: dispatcher.alive_at > turned + 0.5, timeout=30)  # loops turned
        no_tracebacks(caplog)
        down = [r for r in storage_lines(caplog) if r.getMessage() == "database unavailable"]
        assert len(down) == 1  # the shutdown that began the outage, whatever came next
        assert down[0].levelno == logging.ERROR and down[0].fields["reason"]  # type: ignore[attr-defined]
    finally:
        own_cluster.leave_recovery()
    await recovered(client)
    back = [r for r in storage_lines(caplog) if r.getMessage() == "database available again"]
    assert len(back) == 1 and back[0].levelno == logging.ERROR
    no_tracebacks(caplog)


@pytest.mark.postgres
async def test_postgres_refusing_connections_is_unavailable_on_every_route(
    own_cluster: Cluster, own_db: str, make_client: ClientFactory
) -> None:
    client = await make_client(conf(own_db))
    own_cluster.halt()
    try:
        await every_route_is_unavailable(client, "connection refused")
    finally:
        own_cluster.resume()
    await quiet_recovery(client)
    await recovered(client)


async def settled(client: Any, reason: str) -> None:
    """Wait until the app has seen its pooled connections end: a connection whose
    server just ended it may fail one request with "the connection broke" first."""

    async def both() -> bool:
        rest = await client.get("/api/v1/outbound/obd-none", headers=AUTH)
        doc = envelope(
            "fetchUserPreferences",
            **{"$flow.key.cli": "9979746666", "$flow.syskey.clientID": "acme"},
        )
        keys = answer_keys(await (await client.post("/webhook", json=doc)).json())
        return reason in (await rest.text()) and reason in keys.get("$flow.key.errorMessage", "")

    await wait_for(both, timeout=30, interval=0.1)


async def end_sessions(admin: Any, role: str) -> None:
    """Terminate the role's sessions (57P01) and wait until they are gone."""
    sessions = "FROM pg_stat_activity WHERE usename = $1"
    await admin.execute(f"SELECT pg_terminate_backend(pid) {sessions}", role)

    async def gone() -> bool:
        return bool(await admin.fetchval(f"SELECT count(*) {sessions}", role) == 0)

    await wait_for(gone, timeout=30)


@pytest.mark.postgres
async def test_too_many_connections_and_read_only_are_unavailable(
    pg_cluster: Cluster, pg_url: str, make_client: ClientFactory
) -> None:
    """53300: the role may open no more connections; 25006: the database takes no
    writes (a standby, default_transaction_read_only), so writes answer unavailable."""
    role = f"r_{uuid.uuid4().hex[:8]}"
    name = pg_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute(f'ALTER DATABASE "{name}" OWNER TO {role}')
        await admin.execute(f"ALTER SCHEMA public OWNER TO {role}")
        url = f"postgresql://{role}@127.0.0.1:{pg_cluster.port}/{name}"
        client = await make_client(conf(url))
        await quiet_recovery(client)
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT 0")
        await end_sessions(admin, role)
        await settled(client, "too many connections")
        await every_route_is_unavailable(client, "too many connections")
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
        await recovered(client)

        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        await end_sessions(admin, role)

        async def read_only() -> bool:
            doc = create("9979746666", **{"$flow.key.idempotencyKey": fresh_key()})
            keys = answer_keys(await (await client.post("/webhook", json=doc)).json())
            return "read-only" in keys.get("$flow.key.errorMessage", "")

        await wait_for(read_only, timeout=30, interval=0.1)
        resp = await client.put(
            "/api/v1/agents/9800000001", headers=AUTH, json=BODIES["/api/v1/agents/9800000001"]
        )
        assert resp.status == 503 and "read-only" in (await resp.json())["error"]["message"]
        resp = await client.get("/api/v1/agents/9800000001", headers=AUTH)
        assert resp.status == 404  # reads still answer
        ready = await (await client.get("/readyz")).json()
        assert ready["checks"]["database"]["ok"] is False
        assert "read-only" in ready["checks"]["database"]["reason"]
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        await end_sessions(admin, role)
        await recovered(client)
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_a_session_shut_down_under_a_statement_is_unavailable(
    pg_url: str, make_client: ClientFactory
) -> None:
    """57P01 (administrator command) arriving while a statement runs, on the hot path
    (asyncpg) and on the SQLAlchemy path."""
    client = await make_client(conf(pg_url, statement_timeout_seconds=30))
    admin = await asyncpg.connect(pg_url)
    try:
        blocker = admin.transaction()
        await blocker.start()
        await admin.execute("LOCK TABLE user_prefs, agents IN ACCESS EXCLUSIVE MODE")
        fetch = asyncio.ensure_future(
            client.post(
                "/webhook",
                json=envelope(
                    "fetchUserPreferences",
                    **{"$flow.key.cli": "9979746666", "$flow.syskey.clientID": "acme"},
                ),
            )
        )
        view = asyncio.ensure_future(client.get("/api/v1/agents/9800000001", headers=AUTH))

        async def both_waiting() -> bool:
            await admin.execute("SELECT pg_stat_clear_snapshot()")  # fresh in a transaction
            waiting = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            return bool(waiting == 2)

        await wait_for(both_waiting, timeout=30)
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        keys = answer_keys(await (await fetch).json())
        assert keys["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE", keys
        assert "administrator command" in keys["$flow.key.errorMessage"]
        resp = await view
        assert resp.status == 503, await resp.text()
        assert "administrator command" in (await resp.json())["error"]["message"]
        await blocker.rollback()
    finally:
        await admin.close()


# -- a PostgreSQL that hangs -------------------------------------------------------


async def _count(url: str, table: Any) -> int:
    s = Storage.open(url)
    try:
        async with s.read() as conn:
            return len((await conn.execute(select(table))).all())
    finally:
        await s.close()


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["write", "hot_write"])
async def test_a_commit_a_frozen_server_reads_late_is_not_stored(
    own_cluster: Cluster, own_db: str, path: str
) -> None:
    """The server froze with the COMMIT unread: the writer gives up at its deadline,
    and the server, woken later, refuses the COMMIT: what the caller was told failed
    is not stored (SQLAlchemy path and asyncpg hot path)."""
    s = Storage.open(own_db, deadlines=Deadlines(connect=1, acquire=1, statement=1, ping=0.5))
    await migrations.upgrade(s)
    row = {"client": "acme", "number": "+919979746666", "name": "lang", "value": "hi"}
    try:
        with pytest.raises(StorageUnavailable, match="no answer within 1 s"):
            async with s.write() if path == "write" else s.hot_write() as tx:
                statement = t.user_prefs.insert().values(**row, updated_at=NEUTRAL)
                if path == "write":
                    await tx.execute(statement)
                else:
                    await tx.rows(statement, {})
                own_cluster.freeze()
            # the COMMIT went out with the body; the server reads it only when thawed
        own_cluster.thaw()
        await asyncio.sleep(0.5)  # the woken backend reads the COMMIT it had received
        assert await _count(own_db, t.user_prefs) == 0
    finally:
        own_cluster.thaw()
        await s.close()


@pytest.mark.postgres
async def test_a_hanging_postgres_answers_within_the_deadlines_and_stores_nothing_it_failed(
    own_cluster: Cluster, own_db: str, make_client: ClientFactory
) -> None:
    """SIGSTOP on every PostgreSQL process: createOutbound (many at once), reads, REST
    and /readyz all answer while the server is still frozen; after SIGCONT nothing
    answered FAILED is stored, and requests succeed again."""
    client = await make_client(conf(own_db, workers=True))
    await quiet_recovery(client)

    async def ready() -> bool:
        return bool((await client.get("/readyz")).status == 200)

    await wait_for(ready, timeout=30)
    for _ in range(5):  # pooled connections that will hang, not refuse
        assert await ready()
        doc = create("9979746666", **{"$flow.key.idempotencyKey": fresh_key()})
        assert (
            answer_keys(await (await client.post("/webhook", json=doc)).json())["$flow.key.status"]
            == "SUCCESS"
        )
    keys = [fresh_key() for _ in range(40)]
    own_cluster.freeze()
    try:
        started = time.monotonic()
        creates = [
            client.post(
                "/webhook",
                json=create("9979746666", **{"$flow.key.idempotencyKey": k}),
            )
            for k in keys
        ]
        others = [
            client.post(
                "/webhook",
                json=envelope(
                    "fetchUserPreferences",
                    **{"$flow.key.cli": "9979746666", "$flow.syskey.clientID": "acme"},
                ),
            ),
            client.get("/api/v1/outbound/obd-none", headers=AUTH),
            client.get("/readyz"),
        ]
        # before deadlines existed these never answered while the server was frozen
        answers = await asyncio.wait_for(asyncio.gather(*creates, *others), timeout=60)
        waited = time.monotonic() - started
        failed = []
        for k, resp in zip(keys, answers[: len(keys)], strict=True):
            got = answer_keys(await resp.json())
            assert got["$flow.key.status"] == "FAILED", got
            assert got["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE", got
            failed.append(k)
        fetch, view, readyz = answers[len(keys) :]
        assert answer_keys(await fetch.json())["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE"
        assert view.status == 503
        assert readyz.status == 503
        assert (await readyz.json())["checks"]["database"]["ok"] is False
        assert own_cluster.frozen  # all answered while the server was still frozen
        assert waited < 20  # deadlines of 1 s each: 3 s at worst (generous for a loaded CI)
        print(f"frozen PostgreSQL: {len(answers)} answers within {waited:.1f} s")
    finally:
        own_cluster.thaw()
    await recovered(client)
    await asyncio.sleep(1)  # anything a woken backend still had to commit, it has
    stored = await _stored_keys(own_db)
    assert len(stored) >= 6  # the warm-up's and recovery's requests
    assert not set(failed) & stored  # nothing answered FAILED was stored


async def _stored_keys(url: str) -> set[str]:
    s = Storage.open(url)
    try:
        async with s.read() as conn:
            rows = (await conn.execute(select(t.outbound_keys.c.key))).all()
        return {r[0] for r in rows}
    finally:
        await s.close()


# -- SQLite out of space --------------------------------------------------------


async def fill_until_full(client: Any, limit: int = 3000) -> tuple[list[str], dict[str, str]]:
    """createOutbound until the database is full: the keys stored, and the first
    failure's answer."""
    stored: list[str] = []
    for _ in range(limit):
        key = fresh_key()
        doc = create(
            ",".join(f"99797{i:05d}" for i in range(5)), **{"$flow.key.idempotencyKey": key}
        )
        keys = answer_keys(await (await client.post("/webhook", json=doc)).json())
        if keys["$flow.key.status"] != "SUCCESS":
            return stored, keys
        stored.append(key)
    raise AssertionError(f"the database took {limit} requests without filling up")


async def test_sqlite_out_of_space_fails_writes_says_why_once_and_recovers(
    tmp_path: Any, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A real SQLITE_FULL ("database or disk is full") from SQLite's own page limit
    (``PRAGMA max_page_count`` on the writer's connection: SQLite refuses to grow the
    file exactly as on a full disk; the filesystem test below fills a real disk)."""
    url = f"sqlite:///{tmp_path}/full.db"
    client = await make_client(conf(url))
    await quiet_recovery(client)
    db = client.app[appkeys.DB]
    caplog.set_level(logging.INFO, logger="flowhooks")
    async with db.write() as conn:
        pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar()
        await conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 8}")
    stored, failed = await fill_until_full(client)
    assert failed["$flow.key.status"] == "FAILED", failed
    assert failed["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE"
    assert "database or disk is full" in failed["$flow.key.errorMessage"]
    for _ in range(20):  # every write fails the same way, and says so only once
        _, again = await fill_until_full(client, limit=1)
        assert again["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE"
    resp = await client.get("/readyz")
    ready = await resp.json()
    assert resp.status == 503, ready
    assert ready["checks"]["database"] == {
        "ok": False,
        "dialect": "sqlite",
        "reason": "database or disk is full",
    }
    down = [r for r in storage_lines(caplog) if r.getMessage() == "database unavailable"]
    assert len(down) == 1 and down[0].levelno == logging.ERROR
    assert down[0].fields == {"reason": "database or disk is full"}  # type: ignore[attr-defined]
    no_tracebacks(caplog)

    async with db.write() as conn:  # space again
        await conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
    await recovered(client)
    back = [r for r in storage_lines(caplog) if r.getMessage() == "database available again"]
    assert len(back) == 1
    assert back[0].fields["reason"] == "database or disk is full"  # type: ignore[attr-defined]
    async with db.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar() == "ok"
        held = {r[0] for r in (await conn.execute(select(t.outbound_keys.c.key))).all()}
    assert set(stored) <= held  # every request answered SUCCESS is stored
    no_tracebacks(caplog)


def _namespaces_reason() -> str | None:
    """Why a tmpfs of the test's own cannot be mounted here (None: it can)."""
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    if probe.returncode != 0:
        return f"no user+mount namespaces here: {probe.stderr.decode(errors='replace').strip()}"
    return None


@pytest.mark.slow
async def test_sqlite_on_a_full_filesystem_fails_writes_says_why_and_recovers(
    tmp_path: Path,
) -> None:
    """``flowhooks serve`` with its SQLite file on a 2 MiB tmpfs (mounted in a user and
    mount namespace of its own, no root needed): the disk filled up, then space freed."""
    reason = _namespaces_reason()
    if reason is not None:
        pytest.skip(reason)
    exe = shutil.which("flowhooks", path=str(Path(sys.executable).parent))
    assert exe is not None
    disk = tmp_path / "disk"
    disk.mkdir()
    port = free_port()
    config = tmp_path / "full.toml"
    config.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
workers = false
[storage]
url = "sqlite:///{disk}/flowhooks.db"
[clients.acme]
security_id = "{SECRET}"
default_region = "IN"
flows = ["ab12cd34"]
max_calls_per_second = 1000
max_concurrent_calls = 1000
"""
    )
    log = tmp_path / "serve.log"
    script = f"mount -t tmpfs -o size=2m tmpfs {disk} && exec {exe} serve --config {config}"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    seen = Path(f"/proc/{proc.pid}/root") / str(disk).lstrip("/")  # the process's own view
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def up() -> bool:
                try:
                    async with http.get(f"{base}/readyz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(up, timeout=60, interval=0.1)
            free = shutil.disk_usage(seen).free
            filler = seen / "filler"
            filler.write_bytes(b"\0" * max(0, free - 96 * 1024))  # leave ~96 KiB

            async def create_one() -> dict[str, str]:
                doc = create("9979746666", **{"$flow.key.idempotencyKey": fresh_key()})
                async with http.post(f"{base}/webhook", json=doc) as resp:
                    assert resp.status == 200
                    return answer_keys(await resp.json())

            stored = 0
            for _ in range(3000):
                keys = await create_one()
                if keys["$flow.key.status"] != "SUCCESS":
                    break
                stored += 1
            else:
                raise AssertionError("the disk never filled up")
            assert keys["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE", keys
            assert "database or disk is full" in keys["$flow.key.errorMessage"], keys
            for _ in range(20):
                assert (await create_one())["$flow.key.errorCode"] == "STORAGE_UNAVAILABLE"
            async with http.get(f"{base}/readyz") as resp:
                ready = await resp.json()
                assert resp.status == 503, ready
                assert ready["checks"]["database"]["reason"] == "database or disk is full"

            filler.unlink()  # space again

            async def stores() -> bool:
                return (await create_one())["$flow.key.status"] == "SUCCESS"

            await wait_for(stores, timeout=30, interval=0.1)
            await wait_for(up, timeout=30, interval=0.2)  # after its quiet period
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    down = [d for d in lines if d["msg"] == "database unavailable"]
    back = [d for d in lines if d["msg"] == "database available again"]
    assert [(d["level"], d["reason"]) for d in down] == [("ERROR", "database or disk is full")]
    assert [d["level"] for d in back] == ["ERROR"]
    assert not [d for d in lines if "exc" in d], log.read_text()[-4000:]
    assert stored > 0


@pytest.mark.postgres
async def test_postgres_down_and_back_loses_no_accepted_call_and_recovers_at_once(
    own_cluster: Cluster,
    own_db: str,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """createOutbound under load while PostgreSQL stops (fast shutdown) and starts
    again: every request answered SUCCESS is stored, none answered FAILED is, the first
    success comes soon after the server is back, and the outage is two log lines."""
    client = await make_client(conf(own_db, workers=True))
    await quiet_recovery(client)
    caplog.set_level(logging.INFO, logger="flowhooks")
    answers: list[tuple[str, str, float]] = []  # key, status, when
    stop = asyncio.Event()

    async def caller() -> None:
        while not stop.is_set():
            key = fresh_key()
            doc = create("9979746666", **{"$flow.key.idempotencyKey": key})
            keys = answer_keys(await (await client.post("/webhook", json=doc)).json())
            answers.append((key, keys["$flow.key.status"], time.monotonic()))
            await asyncio.sleep(0.005)

    callers = [asyncio.ensure_future(caller()) for _ in range(4)]
    try:
        await wait_for(lambda: len(answers) > 50, timeout=30)
        own_cluster.halt()
        await wait_for(lambda: sum(s == "FAILED" for _, s, _ in answers) > 20, timeout=30)
        own_cluster.resume()
        back_at = time.monotonic()
        await wait_for(lambda: any(s == "SUCCESS" and at > back_at for _, s, at in answers), 30)
        first = min(at for _, s, at in answers if s == "SUCCESS" and at > back_at)
        await wait_for(lambda: len([a for a in answers if a[2] > first]) > 50, timeout=30)
    finally:
        stop.set()
        await asyncio.gather(*callers)
    print(f"PostgreSQL back: first createOutbound stored {first - back_at:.2f} s later")
    assert first - back_at < 10  # seconds; typically well under one
    stored = await _stored_keys(own_db)
    succeeded = {k for k, s, _ in answers if s == "SUCCESS"}
    failed = {k for k, s, _ in answers if s != "SUCCESS"}
    assert succeeded <= stored  # no accepted call lost
    assert not failed & stored
    await recovered(client)
    down = [r for r in storage_lines(caplog) if r.getMessage() == "database unavailable"]
    back = [r for r in storage_lines(caplog) if r.getMessage() == "database available again"]
    assert (len(down), len(back)) == (1, 1)
    no_tracebacks(caplog, "flowhooks.dispatcher")
