"""A real Chromium (Debian's, driven by Playwright) against the real app served over
loopback, with a local webhook receiver: one browser for the module, a fresh browser
context (its own cookies) for each test.

The Makefile installs Debian's ``chromium`` when it is missing; here, without it, the
tests are skipped (CI, where ``make test`` has installed it, fails instead).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowhooks.clock import RunningClock
from tests.conftest import NEUTRAL, ROOT, settings_from
from tests.fakes import WebhookReceiver
from tests.pg import free_port
from tests.served import served

CHROMIUM = os.environ.get("FLOWHOOKS_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "var" / "screenshots"
ADMIN = "operator-token-0123456789"
ACME = "acme-api-token"
OTHER = "other-api-token"
SECURITY_ID = "a" * 64
OTHER_SECURITY_ID = "b" * 64


@contextmanager
def receiving(receiver: WebhookReceiver) -> Iterator[str]:
    """The receiver served on 127.0.0.1 from a thread of its own; its base URL."""
    port = free_port()
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()

    async def main() -> None:
        runner = web.AppRunner(receiver.app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "the receiver did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def console_conf(db: Path, receiver: str) -> Any:
    return settings_from(
        f"""
[server]
workers = true
[storage]
url = "sqlite:///{db}"
[testing]
allow_clock_override = true
[security]
allow_private_targets = true
secret_key = "browser-tests-secret-key-0123456789abcdef"
[console]
admin_token = "{ADMIN}"
stats_seconds = 0.5
page_size = 20
[calendars.default]
timezone = "Asia/Kolkata"
country = "IN"
workdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
hours = "09:00-18:00"
day_hours = {{ Sat = "10:00-14:00" }}
extra_holidays = {{ "2026-11-27" = "Founders' day" }}
[calendars.default.types.Callback]
hours = "08:00-20:00"
[calendars.calling]
timezone = "Asia/Kolkata"
workdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
hours = "00:00-24:00"
[clients.acme]
security_id = "{SECURITY_ID}"
api_token = "{ACME}"
cust_token = "acme-cust-token"
flows = ["ab12cd34"]
calling_calendar = "calling"
timezone = "Asia/Kolkata"
max_calls_per_second = 100
[clients.acme.webhooks.report]
url = "{receiver}/hook?id={{{{id}}}}"
[clients.other]
security_id = "{OTHER_SECURITY_ID}"
api_token = "{OTHER}"
flows = ["ff000001"]
calling_calendar = "calling"
[[agents]]
client = "acme"
cli = "+919800000001"
name = "Asha"
did = "+918068000000"
[[agents]]
client = "acme"
cli = "+919800000002"
name = "Ravi"
did = "+918068000000"
[dialer]
backend = "simulated"
poll_seconds = 0.05
[dialer.simulated]
step_seconds = 0.3
outcomes = {{ completed = 1.0 }}
[delivery]
timeout_seconds = 2
initial_backoff_seconds = 30
max_backoff_seconds = 60
give_up_hours = 0.0005
poll_seconds = 0.05
[links]
flush_seconds = 0.2
"""
    )


@dataclass
class Console:
    url: str
    receiver: WebhookReceiver
    hooks: str  # the receiver's base URL


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    receiver = WebhookReceiver()
    with receiving(receiver) as hooks:
        conf = console_conf(tmp_path_factory.mktemp("console") / "flowhooks.db", hooks)
        with served(conf, RunningClock(NEUTRAL)) as url:
            yield Console(url, receiver, hooks)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (Debian's: never a browser Playwright downloads)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
