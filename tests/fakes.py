"""Local fake servers that speak the real provider protocols, for tests and benchmarks.

``FakeCallProvider``: an OAuth2 client-credentials token endpoint and the call API of
seeds/000 (``POST /api/startcall`` with ``{"originate", "destination", "email"}`` and a
bearer token). It records every call request it accepts, can expire tokens, answer
401 / 5xx on demand, hang, or answer 200 and then trickle the body (to exercise
timeouts). ``Trickler``: a raw HTTP server that sends its whole answer, status line
included, one byte at a time.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CLIENT_ID = "flowhooks-test"
CLIENT_SECRET = "s3cr3t-client"


@dataclass
class FakeCallProvider:
    token_ttl: float = 300.0
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    token_requests: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.time() of each accepted call
    plan: list[int | str] = field(default_factory=list)  # 200/401/500/"hang"/"trickle"
    trickle_seconds: float = 0.2  # "trickle": 200 at once, then a body byte this often
    hang_seconds: float = 30.0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self.token)
        app.router.add_post("/api/startcall", self.startcall)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests += 1
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"tok-{self.token_requests}"
        self.tokens[token] = time.monotonic() + self.token_ttl
        return web.json_response(
            {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer"}
        )

    def expire_all_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    async def startcall(self, request: web.Request) -> web.Response:
        action = self.plan.pop(0) if self.plan else 200
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
        if action == 500:
            return web.json_response({"error": "upstream"}, status=500)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if action == 401 or self.tokens.get(token, 0.0) < time.monotonic():
            return web.json_response({"error": "invalid_token"}, status=401)
        body = await request.json()
        if set(body) != {"originate", "destination", "email"}:
            return web.json_response({"error": "bad payload"}, status=400)
        call_id = f"prov-{next(self._ids)}"
        self.calls.append({**body, "callId": call_id})
        self.arrivals.append(time.time())
        if action == "trickle":
            doc = {"status": "success", "callId": call_id, "detail": "x" * 150}
            return await trickle(request, doc, self)
        return web.json_response({"status": "success", "callId": call_id})

    def dialed(self) -> Counter[str]:
        """How often each destination was dialed."""
        return Counter(c["destination"] for c in self.calls)


async def trickle(request: web.Request, doc: Any, fake: FakeCallProvider) -> web.StreamResponse:
    """200 and its headers at once, then the JSON body a byte every ``trickle_seconds``."""
    body = json.dumps(doc).encode()
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = len(body)
    await resp.prepare(request)
    for i in range(len(body)):
        await resp.write(body[i : i + 1])
        await asyncio.sleep(fake.trickle_seconds)
    await resp.write_eof()
    return resp


@dataclass
class Trickler:
    """A raw HTTP/1.1 server that reads each request whole, then sends its answer —
    status line, headers and JSON body — one byte every ``seconds``: what a provider
    behind a failing link looks like, which no per-read timeout notices."""

    doc: Any
    seconds: float = 0.2
    requests: list[bytes] = field(default_factory=list)  # each request's head and body
    _server: asyncio.Server | None = None
    _serving: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            self.requests.append(head + await reader.readexactly(length))
            body = json.dumps(self.doc).encode()
            answer = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            for i in range(len(answer)):
                writer.write(answer[i : i + 1])
                await writer.drain()
                await asyncio.sleep(self.seconds)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up: what it should do
        finally:
            writer.close()


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` (sync or async) is true, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A customer's webhook receiver: records every POST and answers as planned.

    ``plan``: the next answers, in order: an HTTP status, ``(status, {headers})``, or
    ``"hang"`` (holds the request ``hang_seconds``); then ``default``. ``down``: answer
    every request 503 without recording it (the receiver is away).
    """

    plan: list[Any] = field(default_factory=list)
    default: int = 200
    hang_seconds: float = 30.0
    down: bool = False
    received: list[Received] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.down:
            return web.Response(status=503, text="away")
        self.received.append(
            Received(
                request.path, dict(request.query), dict(request.headers), body, time.monotonic()
            )
        )
        action = self.plan.pop(0) if self.plan else self.default
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
            action = 200
        status, headers = action if isinstance(action, tuple) else (action, {})
        return web.Response(status=status, headers=headers, text="ok")

    def accepted_ids(self) -> Counter[str]:
        """How often each webhook-id was recorded (with an empty plan: answered 200)."""
        return Counter(r.headers.get("webhook-id", "") for r in self.received)


GOOGLE_KEY = "AIzaTest-0123456789-key"
GOOGLE_PATH = "/language/translate/v2"
GOOGLE_LANGUAGES = frozenset({"en", "hi", "zh-CN", "zh-TW", "fr", "ta", "mr"})
# what the fake "knows"; anything else comes back as "[target] text"
DICTIONARY = {
    ("en", "hi", "My name is John"): "मेरा नाम जॉन है",
    ("hi", "en", "मेरा नाम जॉन है"): "My name is John",
    ("en", "fr", "It's a <b>test</b> & more"): "C'est un <b>test</b> & plus",
}


def google_error(code: int, message: str, reason: str, status: str) -> web.Response:
    """Google's error document."""
    doc = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }
    }
    return web.json_response(doc, status=code)


@dataclass
class FakeGoogleTranslate:
    """Cloud Translation v2 over REST as the real one behaves: the key in ``key`` or
    ``X-Goog-Api-Key`` (else 403 with Google's error JSON), HTML entities in the answer
    unless ``format`` is ``text``, detection when ``source`` is absent.

    ``plan``: the next answers: 500, or ``"slow"`` (answers after ``slow_seconds``).
    ``hold``: when set, every request waits for it (to see concurrent requests pile up).
    """

    key: str = GOOGLE_KEY
    plan: list[Any] = field(default_factory=list)
    slow_seconds: float = 5.0
    hold: asyncio.Event | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(GOOGLE_PATH, self.translate)
        return app

    async def translate(self, request: web.Request) -> web.Response:
        key = request.query.get("key") or request.headers.get("X-Goog-Api-Key")
        body = await request.json()
        self.requests.append(
            {"body": body, "query": dict(request.query), "headers": dict(request.headers)}
        )
        if key != self.key:
            return google_error(
                403,
                "Method doesn't allow unregistered callers (callers without established"
                " identity). Please use API Key or other form of API consumer identity"
                " to call this API.",
                "forbidden",
                "PERMISSION_DENIED",
            )
        if self.hold is not None:
            await self.hold.wait()
        action = self.plan.pop(0) if self.plan else None
        if action == 500:
            return google_error(500, "Internal error encountered.", "backendError", "INTERNAL")
        if action == "slow":
            await asyncio.sleep(self.slow_seconds)
        texts = body["q"] if isinstance(body["q"], list) else [body["q"]]
        target, source = body.get("target"), body.get("source")
        if target not in GOOGLE_LANGUAGES or (source and source not in GOOGLE_LANGUAGES):
            return google_error(400, "Invalid Value", "invalid", "INVALID_ARGUMENT")
        out = []
        for text in texts:
            heard = source or ("hi" if any("\u0900" <= ch <= "\u097f" for ch in text) else "en")
            said = DICTIONARY.get((heard, target, text), f"[{target}] {text}")
            if body.get("format", "html") != "text":
                said = html.escape(said, quote=False).replace("'", "&#39;").replace('"', "&quot;")
            item = {"translatedText": said}
            if not source:
                item["detectedSourceLanguage"] = heard
            out.append(item)
        return web.json_response({"data": {"translations": out}})
