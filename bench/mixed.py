"""Mixed load (issue 13): four maximum-size createOutbound requests at a time (1,000
numbers each, the longest email and referenceId) alongside validateDateTime traffic at
500 req/s; what matters is validateDateTime's p99 (target < 10 ms)."""

from __future__ import annotations

import asyncio

import orjson

from bench import loadgen

NOW = "2019-12-07T10:00:00+05:30"
BIG_NUMBERS = 744  # the most an 8 KiB contactNumbers value holds


def _envelope(method: str, keys: dict[str, str]) -> bytes:
    doc = {"method": method, "keys": [{"name": k, "value": v} for k, v in keys.items()]}
    return loadgen.build_request("/webhook", orjson.dumps(doc), {"X-Flowhooks-Now": NOW})


def big_creates(count: int = 200) -> list[bytes]:
    """``count`` createOutbound requests of 744 new numbers each."""
    out = []
    for r in range(count):
        numbers = ",".join(f"97{r:04d}{i:04d}" for i in range(BIG_NUMBERS))
        keys = {
            "$flow.syskey.apiVersion": "1.0",
            "$flow.syskey.securityID": "b" * 64,
            "$flow.syskey.flowID": "bench001",
            "$flow.syskey.clientID": "bench",
            "$flow.syskey.contactNumbers": numbers,
            "email": "e" * 254,
            "referenceId": "r" * 200,
        }
        out.append(_envelope("createOutbound", keys))
    return out


def validations() -> list[bytes]:
    return [_envelope("validateDateTime", {"inputDate": f"{d:02d}-12-2019"}) for d in range(1, 29)]


async def run(port: int, seconds: float) -> dict[str, object]:
    quick, big = validations(), big_creates()
    alone = await loadgen.run(port, quick, connections=16, seconds=seconds, rate=500)
    mixed, creates = await asyncio.gather(
        loadgen.run(port, quick, connections=16, seconds=seconds, rate=500),
        loadgen.run(port, big, connections=4, seconds=seconds, max_requests=len(big)),
    )
    return {
        "validateDateTime alone": alone.summary(),
        "validateDateTime beside 4 big createOutbound": mixed.summary(),
        "createOutbound (744 numbers each)": creates.summary(),
    }
