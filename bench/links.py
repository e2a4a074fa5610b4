"""Short links and translateText for bench/run.py: requests, seeds, the fake backend."""

from __future__ import annotations

import asyncio
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench import loadgen
from flowhooks.storage import Storage
from flowhooks.storage import links as stored

HERE = Path(__file__).parent
CODES = [f"BenchLink{i:05d}" for i in range(1000)]
BROWSER = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/119 Mobile Safari/537.36"
TEXTS = [
    "Your appointment is confirmed",
    "Please hold while we connect you",
    "Press one to talk to an agent",
    "Your balance is low",
    "Thank you for calling",
    "We will call you back tomorrow",
    "Your payment was received",
    "Goodbye",
]


def _envelope(method: str, keys: dict[str, str]) -> bytes:
    doc = {"method": method, "keys": [{"name": k, "value": v} for k, v in keys.items()]}
    return loadgen.build_request("/webhook", orjson.dumps(doc))


def redirects() -> list[bytes]:
    """GET /s/{code} for 1,000 links a browser opens (each a person's click)."""
    headers = {"User-Agent": BROWSER}
    return [loadgen.build_request(f"/s/{c}", b"", headers, method="GET") for c in CODES]


def seed_links(url: str) -> None:
    """The 1,000 links, written straight into the database the server migrated."""

    async def insert() -> None:
        storage = Storage.open(url)
        now = datetime.now(UTC)  # bench only: the server's own clock is the system's
        try:
            for code in CODES:
                link = stored.StoredLink(code, "bench", f"https://example.com/p/{code}", now, None)
                await stored.insert(storage, link)
        finally:
            await storage.close()

    asyncio.run(insert())


def short_urls() -> list[bytes]:
    """shortURL for 40,000 different long URLs: every request stores a link."""
    return [
        _envelope(
            "shortURL",
            {"longUrl": f"https://example.com/pay?invoice={i}", "custToken": "benchcust"},
        )
        for i in range(40_000)
    ]


def translations() -> list[bytes]:
    """translateText of eight prompts a flow speaks (the cache answers all after warm-up)."""
    return [
        _envelope("translateText", {"inputText": t, "sourceLang": "English", "targetLang": "Hindi"})
        for t in TEXTS
    ]


def distinct_translations(count: int = 20_000) -> list[bytes]:
    """translateText of texts never seen before: every request reaches the backend."""
    return [
        _envelope(
            "translateText",
            {"inputText": f"Your ticket {i} is open", "sourceLang": "en", "targetLang": "hi"},
        )
        for i in range(count)
    ]


def google_server(port: int, delay: float) -> list[str]:
    return [
        sys.executable,
        str(HERE / "fake_google.py"),
        "--port",
        str(port),
        "--delay",
        str(delay),
    ]


def point_translate_at(config: Path, port: int) -> None:
    """Append a [translate] section aimed at the fake backend to a bench config."""
    endpoint = f"http://127.0.0.1:{port}/language/translate/v2"
    text = config.read_text()
    text += f'\n[translate]\nendpoint = "{endpoint}"\napi_key = "bench-key"\n'
    config.write_text(text)


def storage_url(config: Path) -> str:
    url: str = tomllib.loads(config.read_text())["storage"]["url"]
    return url


SPOKEN = [
    "nine eight double seven",
    "I want to talk to someone",
    "one lakh twenty thousand",
    "yes please",
    "next monday",
    "check my balance",
    "not really",
    "triple five oh one",
]


_DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
_FRAMES = [
    "my number is {d}",
    "I want to pay {a} rupees",
    "can you call me back on {day} at {d}",
    "yes the pin is {d}",
    "I need to talk to someone about {a}",
    "no it was {a} not {d}",
    "book it for the {n}th of december",
    "check my balance for account {d}",
]
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


def speech_distinct(count: int = 20_000) -> list[bytes]:
    """20,000 different things callers say (no memo answers within a run)."""
    out = []
    for i in range(count):
        digits = " ".join(_DIGIT_WORDS[int(c)] for c in f"{i:05d}")
        text = _FRAMES[i % len(_FRAMES)].format(
            d=digits, a=f"{i} thousand", day=_DAYS[i % 7], n=1 + i % 28
        )
        out.append(_envelope("speechprocessing", {"cli": "9876543210", "speechText": text}))
    return out


def speech() -> list[bytes]:
    """speechprocessing of eight things callers say, every output asked for (default set:
    20 intents x 10 examples)."""
    return [_envelope("speechprocessing", {"cli": "9876543210", "speechText": t}) for t in SPOKEN]
