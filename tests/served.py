"""The real app served over loopback from a thread of its own, for synchronous callers
(Hypothesis drives plain functions; schemathesis and RSS checks want a separate loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvloop

from flowhooks.clock import Clock
from flowhooks.settings import Settings
from flowhooks.web.app import create_app
from flowhooks.web.serving import Serving
from tests.pg import free_port


@contextmanager
def served(settings: Settings, clock: Clock, **app_kw: Any) -> Iterator[str]:
    """Yield the base URL of the app serving ``settings`` on 127.0.0.1, as ``flowhooks
    serve`` serves it (the connection guard and its limits included)."""
    port = free_port()
    loop = uvloop.new_event_loop()  # the loop `flowhooks serve` runs
    started = threading.Event()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        serving = Serving(create_app(settings, clock=clock, **app_kw), settings.server)
        try:
            await serving.start("127.0.0.1", port)
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise
        started.set()
        try:
            await stop.wait()
        finally:
            await serving.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(30) or failure:
        raise RuntimeError(f"the app did not start: {failure}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
