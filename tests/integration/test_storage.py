"""The storage layer on SQLite and PostgreSQL: migrations, preferences, agents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flowhooks.errors import StorageUnavailable
from flowhooks.outbound.model import NewCall, NewRequest, Pace
from flowhooks.storage import Storage, agents, migrations, outbound, prefs
from flowhooks.storage import tables as t
from flowhooks.storage.agents import PauseAction

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a neutral moment: storage has no windows
NUMBER = "+919979746666"


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    s = Storage.open(db_url)
    await migrations.upgrade(s)
    try:
        yield s
    finally:
        await s.close()


async def test_migrations_are_versioned_and_idempotent(db_url: str) -> None:
    s = Storage.open(db_url)
    try:
        assert await migrations.current_version(s) == 0
        lines: list[str] = []
        assert await migrations.upgrade(s, lines.append) == [
            m.version for m in migrations.MIGRATIONS
        ]
        assert lines[0].startswith("applying migration 1:")
        assert await migrations.upgrade(s) == []
        assert await migrations.current_version(s) == migrations.LATEST
    finally:
        await s.close()


async def test_two_processes_migrating_at_once_apply_each_migration_once(db_url: str) -> None:
    a, b = Storage.open(db_url), Storage.open(db_url)
    try:
        results = await asyncio.gather(migrations.upgrade(a), migrations.upgrade(b))
        assert sorted(results[0] + results[1]) == [m.version for m in migrations.MIGRATIONS]
    finally:
        await a.close()
        await b.close()


async def test_times_round_trip_as_aware_utc(storage: Storage) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    await agents.upsert(
        storage, [("c", "+1", "A", "+2")], "config", datetime(2026, 1, 1, 15, 30, tzinfo=ist)
    )
    agent = await agents.get(storage, "c", "+1")
    assert agent is not None
    assert agent.updated_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert agent.updated_at.tzinfo is not None


async def test_preferences_update_fetch_and_delete(storage: Storage) -> None:
    assert await prefs.fetch(storage, "default", NUMBER) == {}
    stored = await prefs.update(
        storage, "default", NUMBER, {"lang": "hi", "tier": "gold"}, NOW, 100
    )
    assert stored == {"lang": "hi", "tier": "gold"}
    stored = await prefs.update(storage, "default", NUMBER, {"lang": "en", "tier": ""}, NOW, 100)
    assert stored == {"lang": "en"}
    assert await prefs.fetch(storage, "default", NUMBER) == {"lang": "en"}
    assert await prefs.fetch(storage, "other", NUMBER) == {}  # per client


async def test_preference_limit_rolls_back_the_whole_update(storage: Storage) -> None:
    first = {f"k{i}": "v" for i in range(99)}
    await prefs.update(storage, "default", NUMBER, first, NOW, 100)
    with pytest.raises(prefs.TooManyPreferences):
        await prefs.update(
            storage, "default", NUMBER, {"a": "1", "b": "2", "k0": "changed"}, NOW, 100
        )
    after = await prefs.fetch(storage, "default", NUMBER)
    assert len(after) == 99 and after["k0"] == "v"


async def test_fifty_concurrent_updates_of_one_number_all_survive(storage: Storage) -> None:
    await asyncio.gather(
        *(
            prefs.update(storage, "default", NUMBER, {f"key{i}": str(i)}, NOW, 100)
            for i in range(50)
        )
    )
    stored = await prefs.fetch(storage, "default", NUMBER)
    assert stored == {f"key{i}": str(i) for i in range(50)}


async def test_concurrent_updates_respect_the_limit(storage: Storage) -> None:
    await prefs.update(storage, "default", NUMBER, {f"k{i}": "v" for i in range(95)}, NOW, 100)
    results = await asyncio.gather(
        *(prefs.update(storage, "default", NUMBER, {f"n{i}": "v"}, NOW, 100) for i in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, prefs.TooManyPreferences) for r in results) == 5
    assert len(await prefs.fetch(storage, "default", NUMBER)) == 100


async def test_pause_unpause_toggle_with_audit(storage: Storage) -> None:
    await agents.upsert(
        storage, [("default", "+919800000001", "Asha", "+918068000000")], "config", NOW
    )
    assert (
        await agents.set_pause(storage, "default", "+919999999999", PauseAction.PAUSE, NOW, "r0")
        is None
    )
    states = []
    for action in (
        PauseAction.PAUSE,
        PauseAction.PAUSE,
        PauseAction.TOGGLE,
        PauseAction.TOGGLE,
        PauseAction.UNPAUSE,
    ):
        agent = await agents.set_pause(storage, "default", "+919800000001", action, NOW, "r1")
        assert agent is not None and agent.name == "Asha"
        states.append(agent.paused)
    assert states == [True, True, False, True, False]
    events = await agents.history(storage, "default", "+919800000001")
    assert [e["action"] for e in events] == ["unpause", "toggle", "toggle", "pause", "pause"]
    assert [e["paused"] for e in events] == [False, True, False, True, True]
    assert events[0]["requestId"] == "r1"


async def test_config_sync_keeps_the_break_state(storage: Storage) -> None:
    entry = ("default", "+919800000001", "Asha", "+918068000000")
    await agents.upsert(storage, [entry], "config", NOW)
    await agents.set_pause(storage, "default", entry[1], PauseAction.PAUSE, NOW, "r")
    await agents.upsert(storage, [(*entry[:2], "Asha K", entry[3])], "config", NOW)  # a restart
    agent = await agents.get(storage, "default", entry[1])
    assert agent is not None and agent.paused and agent.name == "Asha K"


async def test_allocation_takes_the_longest_waiting_unpaused_agent(storage: Storage) -> None:
    did = "+918068000000"
    team = [("default", f"+91980000000{i}", f"A{i}", did) for i in range(1, 4)]
    await agents.upsert(storage, team, "config", NOW)
    await agents.set_pause(storage, "default", "+919800000002", PauseAction.PAUSE, NOW, "r")
    picks = []
    for minute in range(4):
        agent = await agents.allocate(storage, "default", did, NOW + timedelta(minutes=minute))
        assert agent is not None
        picks.append(agent.cli)
    assert picks == ["+919800000001", "+919800000003", "+919800000001", "+919800000003"]
    assert await agents.allocate(storage, "default", "+918068000099", NOW) is None
    assert await agents.allocate(storage, "other", did, NOW) is None


async def test_concurrent_allocations_never_return_the_same_agent(storage: Storage) -> None:
    did = "+918068000000"
    team = [("default", f"+9198000001{i:02d}", f"A{i}", did) for i in range(10)]
    await agents.upsert(storage, team, "config", NOW)
    for _ in range(3):  # every round: ten at once, all with the same clock reading
        picked = await asyncio.gather(
            *(agents.allocate(storage, "default", did, NOW) for _ in range(10))
        )
        clis = [a.cli for a in picked if a is not None]
        assert len(clis) == 10 and len(set(clis)) == 10


async def test_schema_version_rows(storage: Storage) -> None:
    async with storage.read() as conn:
        versions = (await conn.execute(select(t.schema_version.c.version))).scalars().all()
    assert versions == [m.version for m in migrations.MIGRATIONS]


@pytest.mark.postgres
async def test_unreachable_database_is_storage_unavailable() -> None:
    from tests.pg import free_port

    s = Storage.open(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    try:
        assert await s.ping() is False
        with pytest.raises(StorageUnavailable):
            await prefs.fetch(s, "default", NUMBER)
    finally:
        await s.close()


@pytest.mark.postgres
async def test_readiness_reports_a_database_that_is_down() -> None:
    from aiohttp import web

    from flowhooks.calendar import Calendars
    from flowhooks.web import keys as appkeys
    from flowhooks.web.meta import readiness
    from tests.conftest import settings_from
    from tests.pg import free_port

    app = web.Application()
    app[appkeys.SETTINGS] = settings_from("")
    app[appkeys.CALENDARS] = Calendars({})
    app[appkeys.DB] = db = Storage.open(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    try:
        checks = await readiness(app)
        assert checks["database"]["ok"] is False
    finally:
        await db.close()


def test_db_cli_upgrades_with_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flowhooks import cli

    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/x.db"\n')
    assert cli.main(["db", "upgrade", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "database at version 0" in out and "applying migration 1:" in out
    assert cli.main(["db", "current", "--config", str(config)]) == 0
    assert f"version {migrations.LATEST}" in capsys.readouterr().out


async def test_sqlite_waits_for_another_writer_without_blocking_the_loop(tmp_path: Path) -> None:
    import sqlite3

    s = Storage.open(f"sqlite:///{tmp_path}/w.db")
    await migrations.upgrade(s)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(prefs.update(s, "default", NUMBER, {"a": "1"}, NOW, 100))
        ticks = 0
        while ticks < 20:  # the loop keeps running while the write waits
            await asyncio.sleep(0.005)
            ticks += 1
        assert not write.done()
        assert await prefs.fetch(s, "default", NUMBER) == {}  # readers are not blocked either
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) == {"a": "1"}
    finally:
        other.close()
        await s.close()


async def test_migration_6_keeps_email_and_reference_once_per_request(db_url: str) -> None:
    """A database from before migration 6 (email/reference_id on every call row) loses
    those columns; the calls read their request's values, and a call row stays small."""
    from sqlalchemy import text

    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        async with s.write() as conn:  # back to the shape migration 5 left
            for column in ("email", "reference_id"):
                await conn.execute(
                    text(f"ALTER TABLE outbound_calls ADD COLUMN {column} TEXT DEFAULT ''")
                )
            await conn.execute(t.schema_version.delete().where(t.schema_version.c.version == 6))
        assert await migrations.upgrade(s) == [6]
        calls = [NewCall(f"c{i}", i, f"+9199797466{i:02d}", "Asia/Kolkata", NOW) for i in range(3)]
        request = NewRequest(
            id="r1", client="acme", flow_id="f", delay_minutes=0, email="a@b.co" * 100,
            reference_id="ref-1", key="k", fingerprint="f", key_expires_at=NOW,
            max_attempts=3, calls=calls, answer={}, request_id="q",
        )  # fmt: skip
        await outbound.create(s, request, NOW)
        claimed = await outbound.claim(
            s, "acme", Pace(1000, 1000, 10), "w", NOW, NOW + timedelta(minutes=1)
        )
        assert [(c.email, c.reference_id) for c in claimed] == [("a@b.co" * 100, "ref-1")] * 3
        async with s.read() as conn:
            columns = (await conn.execute(select(t.outbound_calls).limit(1))).keys()
        assert "email" not in columns and "reference_id" not in columns
    finally:
        await s.close()


def _request(rid: str, key: str, fingerprint: str, number: str) -> NewRequest:
    return NewRequest(
        id=rid, client="acme", flow_id="f", delay_minutes=0, email="", reference_id="",
        key=key, fingerprint=fingerprint, key_expires_at=NOW + timedelta(hours=1),
        max_attempts=3, calls=[NewCall(f"call-{rid}", 0, number, "Asia/Kolkata", NOW)],
        answer={"obdReqID": rid}, request_id="q",
    )  # fmt: skip


async def test_a_batch_of_creates_is_one_transaction_and_keys_hold_within_it(
    db_url: str,
) -> None:
    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        batch = [
            (_request("r1", "k1", "a", "+919979746601"), NOW),
            (_request("r2", "k1", "a", "+919979746601"), NOW),  # the retry of r1, same batch
            (_request("r3", "k1", "b", "+919979746609"), NOW),  # k1 reused, other contents
            (_request("r4", "k4", "a", "+919979746604"), NOW),
        ]
        stored = await outbound.create_many(s, batch)
        assert [(x.created, x.conflict, x.answer) for x in stored] == [
            (True, False, {"obdReqID": "r1"}),
            (False, False, {"obdReqID": "r1"}),
            (False, True, {}),
            (True, False, {"obdReqID": "r4"}),
        ]
        again = await outbound.create(s, _request("r5", "k1", "a", "+919979746601"), NOW)
        assert (again.created, again.answer) == (False, {"obdReqID": "r1"})  # read back
        claimed = await outbound.claim(
            s, "acme", Pace(1000, 1000, 10), "w", NOW, NOW + timedelta(minutes=1)
        )
        assert sorted(c.id for c in claimed) == ["call-r1", "call-r4"]
    finally:
        await s.close()


async def test_concurrent_creates_through_the_outbound_side_each_get_their_own_answer(
    db_url: str,
) -> None:
    from flowhooks.calendar import Calendars
    from flowhooks.outbound.service import Outbound
    from tests.conftest import settings_from

    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        side = Outbound(settings_from(""), s, Calendars({}))
        reqs = [_request(f"r{i}", f"k{i % 40}", "a", f"+9199797466{i % 40:02d}") for i in range(80)]
        stored = await asyncio.gather(*(side.create(r, NOW) for r in reqs))
        assert sum(x.created for x in stored) == 40  # one per key: retries answer the first
        for i, x in enumerate(stored):
            assert x.answer == stored[i % 40].answer
        async with s.read() as conn:
            count = await conn.scalar(select(func.count()).select_from(t.outbound_calls))
        assert count == 40
    finally:
        await s.close()


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["hot_write", "write_one"])
async def test_a_hot_path_statement_cut_off_by_its_caller_ends_as_the_callers_timeout(
    pg_url: str, path: str
) -> None:
    """A caller's own deadline (the request limiter's 0.5 s) cancels a statement on the
    asyncpg pool: the connection is dropped once and the caller sees its TimeoutError,
    never the pool's "released back to the pool" error (CI saw a 500 from it), and the
    next statement gets a working connection."""
    s = Storage.open(pg_url)
    await migrations.upgrade(s)
    slow = select(func.pg_sleep(5))
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                if path == "hot_write":
                    async with s.hot_write() as tx:
                        await tx.rows(slow, {})
                else:
                    await s.write_one(slow, {})
        assert await s.write_one(select(func.count()).select_from(t.user_prefs), {}) == [(0,)]
    finally:
        await s.close()
