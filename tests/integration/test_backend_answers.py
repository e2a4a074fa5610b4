"""Answers from the translate, NLU and webhook backends that arrive in pieces, too big,
or one byte a second (issue 22, items 5 and 6), over real HTTP to local servers.

An answer is read whole up to its cap, however it is split: several writes with
pauses between, chunked or with a Content-Length. One over the cap is a clear failure.
A server that trickles its answer cannot hold a request past its total deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.conftest import NEUTRAL, ClientFactory, answer_keys, envelope, settings_from
from tests.fakes import GOOGLE_KEY, GOOGLE_PATH, wait_for
from tests.integration.test_webhooks import _delivered, hooks_conf, report

GOOGLE_ANSWER = orjson.dumps(
    {"data": {"translations": [{"translatedText": "मेरा नाम जॉन है " * 20}]}}
)
RASA_ANSWER = orjson.dumps(
    {
        "text": "pay it",
        "intent": {"name": "pay_bill", "confidence": 0.91},
        "entities": [{"entity": "amount", "value": "2500"}],
        "intent_ranking": [{"name": "pay_bill", "confidence": 0.91}] * 20,
    }
)


async def in_pieces(
    request: web.Request, body: bytes, *, chunked: bool, pieces: int = 3, gap: float = 0.1
) -> web.StreamResponse:
    """``body`` in ``pieces`` writes ``gap`` seconds apart (chunked or with a length)."""
    await request.read()
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if chunked:
        resp.enable_chunked_encoding()
    else:
        resp.content_length = len(body)
    await resp.prepare(request)
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        await resp.write(body[start : start + size])
        await asyncio.sleep(gap)
    await resp.write_eof()
    return resp


async def trickle(request: web.Request, body: bytes) -> web.StreamResponse:
    """The headers at once, then the body one byte a second (a provider that trickles)."""
    await request.read()
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = len(body)
    await resp.prepare(request)
    for i in range(len(body)):
        await resp.write(body[i : i + 1])
        await asyncio.sleep(1)
    return resp


class Backend:
    """A translate or NLU backend that answers ``body`` the way ``mode`` says."""

    def __init__(self, body: bytes, mode: str) -> None:
        self.body, self.mode = body, mode
        self.requests = 0

    async def answer(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "trickle":
            return await trickle(request, self.body)
        return await in_pieces(request, self.body, chunked=self.mode == "chunked")

    async def start(self, aiohttp_server: Any, path: str) -> str:
        app = web.Application()
        app.router.add_post(path, self.answer)
        server = await aiohttp_server(app)
        return str(server.make_url(path))


async def translate(client: Any) -> dict[str, str]:
    resp = await client.post(
        "/webhook",
        json=envelope("translateText", inputText="My name", targetLang="hi", apiKey=GOOGLE_KEY),
    )
    assert resp.status == 200
    return answer_keys(await resp.json())


async def understand(client: Any) -> dict[str, str]:
    resp = await client.post("/webhook", json=envelope("speechprocessing", speechText="pay it"))
    assert resp.status == 200
    return answer_keys(await resp.json())


def translate_conf(url: str, timeout: float = 3) -> Any:
    return settings_from(f'[translate]\nendpoint = "{url}"\ntimeout_seconds = {timeout}\n')


def nlu_conf(url: str, timeout: float = 3) -> Any:
    return settings_from(f'[nlu]\nbackend = "http"\nurl = "{url}"\ntimeout_seconds = {timeout}\n')


# -- item 5: the whole answer ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["chunked", "length"])
async def test_a_translation_in_delayed_pieces_is_read_whole(
    make_client: ClientFactory, aiohttp_server: Any, mode: str
) -> None:
    backend = Backend(GOOGLE_ANSWER, mode)
    client = await make_client(translate_conf(await backend.start(aiohttp_server, GOOGLE_PATH)))
    keys = await translate(client)
    assert keys["$flow.key.status"] == "SUCCESS", keys
    assert keys["$flow.key.translatedText"] == "मेरा नाम जॉन है " * 20


@pytest.mark.parametrize("mode", ["chunked", "length"])
async def test_an_nlu_answer_in_delayed_pieces_is_read_whole(
    make_client: ClientFactory, aiohttp_server: Any, mode: str
) -> None:
    backend = Backend(RASA_ANSWER, mode)
    url = await backend.start(aiohttp_server, "/model/parse")
    client = await make_client(nlu_conf(url), now=NEUTRAL)
    keys = await understand(client)
    assert keys["$flow.key.status"] == "SUCCESS", keys
    assert (keys["$flow.key.intent"], keys["$flow.key.amount"]) == ("pay_bill", "2500")


@pytest.mark.parametrize("mode", ["chunked", "length"])
async def test_an_answer_over_the_cap_is_a_clear_failure(
    make_client: ClientFactory, aiohttp_server: Any, mode: str
) -> None:
    huge = orjson.dumps({"data": {"translations": [{"translatedText": "x" * (1 << 20)}]}})
    backend = Backend(huge, mode)
    client = await make_client(translate_conf(await backend.start(aiohttp_server, GOOGLE_PATH)))
    keys = await translate(client)
    assert keys["$flow.key.errorCode"] == "TRANSLATION_FAILED"
    assert "answered more than 1,048,576 bytes" in keys["$flow.key.errorMessage"]
    backend = Backend(orjson.dumps({"intent": {"name": "x" * (1 << 20)}}), mode)
    url = await backend.start(aiohttp_server, "/model/parse")
    client = await make_client(nlu_conf(url), now=NEUTRAL)
    keys = await understand(client)
    assert keys["$flow.key.errorCode"] == "NLU_FAILED"
    assert "answered more than 1,048,576 bytes" in keys["$flow.key.errorMessage"]


# -- item 6: a total deadline -----------------------------------------------------------


async def test_a_trickling_translate_backend_fails_within_its_deadline(
    make_client: ClientFactory, aiohttp_server: Any
) -> None:
    backend = Backend(GOOGLE_ANSWER, "trickle")  # ~400 s of trickle
    url = await backend.start(aiohttp_server, GOOGLE_PATH)
    client = await make_client(translate_conf(url, timeout=1))
    started = time.monotonic()
    keys = await translate(client)
    assert keys["$flow.key.errorCode"] == "TRANSLATION_FAILED"
    assert "did not answer within 1 s" in keys["$flow.key.errorMessage"]
    assert time.monotonic() - started < 15  # the deadline, not the trickle's 400 s


async def test_a_trickling_nlu_backend_fails_within_its_deadline(
    make_client: ClientFactory, aiohttp_server: Any
) -> None:
    backend = Backend(RASA_ANSWER, "trickle")
    url = await backend.start(aiohttp_server, "/model/parse")
    client = await make_client(nlu_conf(url, timeout=1), now=NEUTRAL)
    started = time.monotonic()
    keys = await understand(client)
    assert keys["$flow.key.errorCode"] == "NLU_FAILED"
    assert "did not answer within 1 s" in keys["$flow.key.errorMessage"]
    assert time.monotonic() - started < 15


class TricklingReceiver:
    """A webhook receiver that trickles its whole answer, status line first."""

    def __init__(self) -> None:
        self.requests = 0

    async def answer(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        resp = web.StreamResponse()
        resp.content_length = 4096
        await resp.prepare(request)
        for _ in range(4096):
            await resp.write(b"x")
            await asyncio.sleep(1)
        return resp


async def trickling_server(handler: Any) -> tuple[asyncio.Server, str]:
    """A raw TCP server that sends its status line one byte a second."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        handler()
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def test_a_webhook_receiver_trickling_its_status_line_times_out_in_time(
    make_client: ClientFactory, db_url: str
) -> None:
    seen: list[float] = []
    server, base = await trickling_server(lambda: seen.append(time.monotonic()))
    try:
        delivery = "[delivery]\ntimeout_seconds = 1\npoll_seconds = 0.05\n"
        delivery += "initial_backoff_seconds = 30\n"  # one attempt in this test
        client = await make_client(hooks_conf(db_url, base, delivery=delivery))
        await report(client)
        await wait_for(lambda: seen, timeout=10)
        auth = {"Authorization": "Bearer acme-token"}

        async def timed_out() -> bool:
            resp = await client.get("/api/v1/deliveries", headers=auth)
            found = (await resp.json())["deliveries"]
            return bool(found) and (found[0]["lastError"] or "").startswith("timeout after 1 s")

        await wait_for(timed_out, timeout=15)
        assert time.monotonic() - seen[0] < 15  # the status line alone takes ~40 s
    finally:
        server.close()


async def test_a_receiver_that_answers_200_and_trickles_its_body_is_delivered(
    make_client: ClientFactory, aiohttp_server: Any, db_url: str
) -> None:
    receiver = TricklingReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.answer)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    delivery = "[delivery]\ntimeout_seconds = 1\npoll_seconds = 0.05\n"
    client = await make_client(hooks_conf(db_url, base, delivery=delivery))
    await report(client)
    await wait_for(lambda: _delivered(client), timeout=15)  # its 200 is its answer
    assert receiver.requests == 1
