"""Bounded memory under hostile input (issue 13): 50,000 distinct padded numbers, each
near the 8 KiB value limit, leave the process's RSS less than 50 MB larger. Every cache
is keyed on normalised, length-limited input, so padding cannot grow one."""

from __future__ import annotations

import gc
from pathlib import Path

import orjson

from flowhooks.methods.engine import RawRequest
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory, settings_from

COUNT = 50_000
PAD = 8000


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def padded(i: int) -> bytes:
    number = f"99797{i:05d}"
    spaced = " " * (PAD - len(number) - (i % 97)) + number  # distinct raw texts
    doc = {"method": "fetchUserPreferences", "keys": [{"name": "contactNumber", "value": spaced}]}
    return orjson.dumps(doc)


async def test_distinct_padded_numbers_do_not_grow_memory(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(settings_from(f'[storage]\nurl = "sqlite:///{tmp_path}/m.db"\n'))
    engine = client.app[appkeys.ENGINE]
    for i in range(1000):  # warm: pools, caches of the SQL, the allocator's arenas
        await engine.answer(RawRequest(padded(COUNT + i)))
    gc.collect()
    before = rss_bytes()
    statuses: set[str] = set()
    for i in range(COUNT):
        outcome = await engine.answer(RawRequest(padded(i)))
        statuses.add(outcome.answer.body["status"])
    gc.collect()
    grown = rss_bytes() - before
    assert statuses == {"SUCCESS"}  # every padded number was read, and looked up
    assert grown < 50 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"
