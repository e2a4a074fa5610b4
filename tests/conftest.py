"""Shared fixtures: settings from TOML text, the real app through aiohttp_client."""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from flowhooks import settings as settings_mod
from flowhooks.app import create_app
from flowhooks.clock import FixedClock

CONFIGS = Path(__file__).parent / "configs"
ROOT = Path(__file__).parent.parent
SHARED = ROOT.parent / "shared"


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


@pytest.fixture
def calendars_settings() -> settings_mod.Settings:
    return load_config("calendars.toml")


ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    """Start the real app for a settings object (and optional fixed clock)."""

    async def factory(
        conf: settings_mod.Settings, now: datetime | None = None, **kw: Any
    ) -> TestClient[Any, Any]:
        clock = FixedClock(now) if now else None
        client: TestClient[Any, Any] = await aiohttp_client(create_app(conf, clock=clock, **kw))
        return client

    return factory
