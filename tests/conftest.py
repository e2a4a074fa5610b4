"""Shared fixtures: settings from TOML text, the real app through aiohttp_client."""

from __future__ import annotations

import logging
import os
import tomllib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from flowhooks import settings as settings_mod
from flowhooks.clock import Clock, FixedClock, RunningClock
from flowhooks.web.app import create_app
from tests.pg import Cluster, missing_reason

CONFIGS = Path(__file__).parent / "configs"
ROOT = Path(__file__).parent.parent
SHARED = ROOT.parent / "shared"

# Where a test's clock starts unless it says otherwise: a Monday, 12:00 in India, inside
# every calling window of the test configs, far from any DST change. Nothing in the
# suite reads the machine's date, hour or zone (issue 8; `make test-anyhour` proves it).
NEUTRAL = datetime.fromisoformat("2026-11-23T12:00:00+05:30")


def settings_from(
    text: str = "", env: dict[str, str] | None = None, memory: bool = True
) -> settings_mod.Settings:
    """Settings from TOML text; an in-memory SQLite unless the text names a [storage]."""
    raw = tomllib.loads(text)
    if memory:
        raw.setdefault("storage", {"url": "sqlite:///:memory:"})
    return settings_mod.validate(raw, "<test>", env or {})


def load_config(name: str) -> settings_mod.Settings:
    return settings_mod.load(CONFIGS / name, env={})


def envelope(method: str, **keys: Any) -> dict[str, Any]:
    return {"method": method, "keys": [{"name": k, "value": v} for k, v in keys.items()]}


def answer_keys(body: dict[str, Any]) -> dict[str, str]:
    return {k["name"]: k["value"] for k in body["keys"]}


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (``cli.main``) points the root logger at the stderr of
    its test, which pytest closes afterwards: put the root handlers back after each test,
    so later tests' records are not written to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def calendars_settings() -> settings_mod.Settings:
    return load_config("calendars.toml")


ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    """Start the real app for a settings object on a pinned clock.

    ``now``: a clock that stands still there (moved by hand). Otherwise the clock runs
    in real time from ``start`` (NEUTRAL unless given), for code that must see time pass.
    """

    async def factory(
        conf: settings_mod.Settings,
        now: datetime | None = None,
        start: datetime = NEUTRAL,
        **kw: Any,
    ) -> TestClient[Any, Any]:
        clock: Clock = FixedClock(now) if now else RunningClock(start)
        client: TestClient[Any, Any] = await aiohttp_client(create_app(conf, clock=clock, **kw))
        return client

    return factory


# -- databases: every storage test runs on SQLite and on a real PostgreSQL -------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def pg_url(pg_cluster: Cluster) -> AsyncIterator[str]:
    """A fresh, empty database on the session's cluster."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_cluster.url + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{pg_cluster.url}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL on each database in turn: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/flowhooks.db"
    return str(request.getfixturevalue("pg_url"))
