"""The replay harness (SPEC 5): send recorded envelopes, check the answers.

A case file is JSON (one case or a list) or JSONL. A case is
``{"name", "now"?, "request": <envelope>, "expect"?: {"http", "status", "keys"}}``;
a bare envelope (``{"method", "keys"}``) is sent and its answer printed.
``expect.keys`` lists only the keys to check; ``"*"`` means present, any value.

Cases exported from traces carry secrets as ``"***"``: each is filled when sent (from
``--secret NAME=VALUE``, else in-process from the config: the client's security_id or
cust_token, ``[translate] api_key``, a bot's token) and never written back; a case
still missing one, or marked ``"skip"``, is reported skipped, not failed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp import web

from flowhooks.envelope import bare_name
from flowhooks.methods.engine import RawRequest
from flowhooks.redact import is_secret
from flowhooks.settings import Settings
from flowhooks.traces.record import REDACTED
from flowhooks.web import keys as appkeys
from flowhooks.web.app import create_app


@dataclass
class Case:
    name: str
    request: dict[str, Any]
    now: str | None = None
    expect: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other fields, kept on --record

    @classmethod
    def from_doc(cls, doc: Any, where: str) -> Case:
        if not isinstance(doc, dict):
            raise ValueError(f"{where}: a case must be a JSON object")
        if "request" not in doc and "method" in doc:
            return cls(name=f"{where} {doc['method']}", request=doc)
        if not isinstance(doc.get("request"), dict):
            raise ValueError(f"{where}: a case needs a 'request' object (or is a bare envelope)")
        rest = {k: v for k, v in doc.items() if k not in ("name", "request", "now", "expect")}
        return cls(
            doc.get("name") or where, doc["request"], doc.get("now"), doc.get("expect"), rest
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name}
        if self.now:
            doc["now"] = self.now
        doc["request"] = self.request
        if self.expect is not None:
            doc["expect"] = self.expect
        return doc | self.extra


@dataclass
class CaseFile:
    path: Path
    cases: list[Case]
    form: str  # "list", "single" or "jsonl"

    @classmethod
    def read(cls, path: Path) -> CaseFile:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
            form = "jsonl"
        else:
            doc = json.loads(text)
            docs, form = (doc, "list") if isinstance(doc, list) else ([doc], "single")
        cases = [Case.from_doc(d, f"{path.name}#{i + 1}") for i, d in enumerate(docs)]
        return cls(path, cases, form)

    def write(self) -> None:
        docs = [c.to_doc() for c in self.cases]
        if self.form == "jsonl":
            text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
        else:
            text = json.dumps(
                docs if self.form == "list" else docs[0], indent=1, ensure_ascii=False
            )
        self.path.write_text(text + ("" if self.form == "jsonl" else "\n"), encoding="utf-8")


class Sender(Protocol):
    async def send(
        self, request: dict[str, Any], now: str | None
    ) -> tuple[int, dict[str, Any]]: ...


class HttpSender:
    """Posts to a running flowhooks."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        self.url = url if parts.path not in ("", "/") else url.rstrip("/") + "/webhook"
        self.session = session
        self.token = token

    async def send(self, request: dict[str, Any], now: str | None) -> tuple[int, dict[str, Any]]:
        headers = {"X-Flowhooks-Now": now} if now else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.session.post(self.url, json=request, headers=headers) as resp:
            try:
                body = await resp.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                body = {"raw": (await resp.text())[:500]}
            return resp.status, body if isinstance(body, dict) else {"raw": body}


class EngineSender:
    """Runs the service in-process: the same engine, no port."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.engine = app[appkeys.ENGINE]
        token = app[appkeys.SETTINGS].server.token
        self.auth = f"Bearer {token.get_secret_value()}" if token else None

    async def send(self, request: dict[str, Any], now: str | None) -> tuple[int, dict[str, Any]]:
        raw = RawRequest(json.dumps(request).encode(), authorization=self.auth, now_header=now)
        outcome = await self.engine.answer(raw)
        # the wire JSON, exactly as a flow would read it
        return outcome.answer.http_status, orjson.loads(outcome.answer.dumps())


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[EngineSender]:
    """Start the app's resources without binding a port; replays always honour ``now``
    and never run the dispatcher (a replayed createOutbound must not ring a phone)."""
    testing = settings.testing.model_copy(update={"allow_clock_override": True})
    server = settings.server.model_copy(update={"workers": False})  # a replay never dials
    traces = settings.traces.model_copy(update={"enabled": False})  # nor is it traced
    app = create_app(
        settings.model_copy(update={"testing": testing, "server": server, "traces": traces})
    )
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield EngineSender(app)
    finally:
        await runner.cleanup()


# -- secrets redacted in a recorded case ---------------------------------------------

SecretLookup = Callable[[str, "Case"], str | None]  # (bare key name, case) -> value


def given_secrets(pairs: Sequence[str]) -> dict[str, str]:
    """``--secret NAME=VALUE`` options by bare key name; ValueError on a malformed one."""
    found = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"--secret {name.strip() or pair!r}: must be NAME=VALUE")
        found[bare_name(name.strip())] = value
    return found


def config_secrets(settings: Settings) -> SecretLookup:
    """A redacted secret's value from the config the harness runs with."""

    def lookup(name: str, case: Case) -> str | None:
        sent = _sent_keys(case.request)
        trace = case.extra.get("trace")
        recorded = trace.get("client") if isinstance(trace, dict) else None
        client = settings.clients.get(str(sent.get("clientid") or recorded or "default").strip())
        secret: Any = None
        if name == "securityid" and client is not None:
            secret = client.security_id
        elif name == "custtoken" and client is not None:
            secret = client.cust_token
        elif name == "apikey" and settings.translate.backend is not None:
            secret = getattr(settings.translate.options(), "api_key", None)
        elif name == "token":
            bot = settings.bots.get(str(sent.get("botid", "")).strip())
            secret = bot.token if bot is not None else None
        return None if secret is None else str(secret.get_secret_value())

    return lookup


def _sent_keys(request: dict[str, Any]) -> dict[str, Any]:
    keys = request.get("keys")
    items = keys if isinstance(keys, list) else []
    return {bare_name(k["name"]): k.get("value") for k in items if _is_key(k)}


def _is_key(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str)


def filled(
    case: Case, given: dict[str, str], config: SecretLookup | None
) -> tuple[dict[str, Any], list[str]]:
    """The request to send, each redacted secret filled; and the names still missing."""
    keys = case.request.get("keys")
    if not isinstance(keys, list) or not any(
        _is_key(k) and k.get("value") == REDACTED and is_secret(k["name"]) for k in keys
    ):
        return case.request, []
    out, missing = [], []
    for item in keys:
        if _is_key(item) and item.get("value") == REDACTED and is_secret(item["name"]):
            bare = bare_name(item["name"])
            value = given.get(bare)
            if value is None and config is not None:
                value = config(bare, case)
            if value is None:
                missing.append(item["name"])
                continue
            item = {**item, "value": value}
        out.append(item)
    return {**case.request, "keys": out}, missing


def answer_keys(body: dict[str, Any]) -> dict[str, str]:
    keys = body.get("keys")
    if not isinstance(keys, list):
        return {}
    return {
        str(k["name"]): str(k.get("value")) for k in keys if isinstance(k, dict) and "name" in k
    }


def diff(expect: dict[str, Any], http: int, body: dict[str, Any]) -> list[str]:
    """One line per difference between an expectation and an answer."""
    lines = []
    if "http" in expect and expect["http"] != http:
        lines.append(f"http: expected {expect['http']}, got {http}")
    if "status" in expect and expect["status"] != body.get("status"):
        lines.append(f"status: expected {expect['status']!r}, got {body.get('status')!r}")
    got = answer_keys(body)
    for name, want in (expect.get("keys") or {}).items():
        if name not in got:
            lines.append(f"{name}: expected {want!r}, missing")
        elif want != "*" and got[name] != want:
            lines.append(f"{name}: expected {want!r}, got {got[name]!r}")
    return lines


def _skip_reason(
    case: Case, given: dict[str, str], config: SecretLookup | None
) -> tuple[dict[str, Any], str | None]:
    """The request to send, or why the case cannot be sent as it was recorded."""
    if case.extra.get("skip"):
        return case.request, str(case.extra["skip"])
    request, missing = filled(case, given, config)
    if missing:
        names = ", ".join(missing)
        hint = " ".join(f"--secret {bare_name(m)}=VALUE" for m in missing)
        return request, f"no value for the redacted {names} (give {hint})"
    return request, None


async def replay(
    files: Sequence[CaseFile],
    sender: Sender,
    out: TextIO,
    record: bool = False,
    secrets: dict[str, str] | None = None,
    config: SecretLookup | None = None,
) -> tuple[int, int]:
    """Run every case, print a line each and the summary; returns (passed, failed).

    ``secrets`` (by bare key name) and then ``config`` fill the redacted secrets of a
    recorded case; a case that cannot be sent as recorded is skipped, not failed.
    """
    passed = failed = skipped = 0
    total = sum(len(f.cases) for f in files)
    n = 0
    for f in files:
        for case in f.cases:
            n += 1
            request, skip = _skip_reason(case, secrets or {}, config)
            if skip is not None:
                skipped += 1
                print(f"[{n}/{total}] SKIP {case.name}: {skip}", file=out)
                continue
            http, body = await sender.send(request, case.now)
            if record:
                case.expect = {
                    "http": http,
                    "status": body.get("status"),
                    "keys": answer_keys(body),
                }
            if case.expect is None:
                passed += 1
                print(f"[{n}/{total}] SENT {case.name}: http {http}", file=out)
                for name, value in answer_keys(body).items():
                    print(f"    {name} = {value!r}", file=out)
                continue
            problems = diff(case.expect, http, body)
            if problems:
                failed += 1
                print(f"[{n}/{total}] FAIL {case.name}", file=out)
                for line in problems:
                    print(f"    {line}", file=out)
            else:
                passed += 1
                print(f"[{n}/{total}] PASS {case.name}", file=out)
        if record:
            f.write()
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" * bool(skipped)), file=out)
    return passed, failed
