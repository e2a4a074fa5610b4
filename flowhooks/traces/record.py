"""What a trace holds, built from an answered envelope: pure, no I/O.

Secrets go by the one rule (``redact.is_secret``): the value becomes ``"***"`` and the
name stays, so a replay knows which secret to fill. A value longer than
``max_value_chars`` keeps its first characters and a mark saying how many were cut.

The serving process only ``capture``s (copies a few scalars and the two bodies into
bytes, ~1 µs); the writer process (``traces.writer``) reads the request again
(``envelope.parse``), shapes and stores. Building a trace key by key cost ~10 µs: keys
that need neither redaction nor cutting (the usual case) are stored as they are, and
flows repeat themselves: a request body seen before (without secrets), and a memoised
answer (the same ``orjson.Fragment``, sent as its ``Tokens`` number), reuse what was
read of them from ``Shaper``'s memo.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, cast

import orjson

from flowhooks import envelope, phones
from flowhooks.envelope import Answer, Envelope
from flowhooks.redact import is_secret

REDACTED = "***"
CUT = re.compile(r"…\[\+\d+ chars cut\]\Z")  # the mark a cut value ends with
MAX_CLIENT = 64
MAX_METHOD = 64
MAX_CALL_KEY = 128
MEMO_ENTRIES = 4096  # per memo; cleared when full
MEMO_BODY_BYTES = 2048  # longer request bodies are never memoised


class Answered(Protocol):
    """What the engine hands back for one envelope (``methods.engine.Outcome``)."""

    answer: Answer
    method: str
    error_code: str
    env: Envelope | None
    now: datetime | None


@dataclass(slots=True)
class Trace:
    """One stored trace (a row of ``traces``)."""

    request_id: str
    client: str
    at: datetime
    method: str
    http_status: int
    status: str
    error_code: str
    latency_ms: float
    cli: str
    call_key: str
    request: str | None  # JSON {"method", "keys"}; None when the body was not an envelope
    answer: str  # JSON [{"name", "value"}]
    cut: bool


@lru_cache(maxsize=4096)
def _secret(name: str) -> bool:
    return is_secret(name)  # names repeat: the rule's lower/split/scan once a name


def cut(text: str, limit: int) -> str:
    """``text`` when it fits, else its first ``limit`` characters and the mark."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[+{len(text) - limit} chars cut]"


def _value(name: str, value: Any, limit: int) -> tuple[Any, bool]:
    """A key's value as stored: "***" for a secret, cut when long; (value, was cut)."""
    if _secret(name):
        return REDACTED, False
    if type(value) is str:
        if len(value) <= limit:
            return value, False
        return cut(value, limit), True
    if value is None or isinstance(value, bool | int | float):
        return value, False
    return "<" + type(value).__name__ + ">", False  # an object or list: answered 422 anyway


def keys_of(items: Iterable[Any], limit: int) -> tuple[list[dict[str, Any]], bool]:
    """``[{"name", "value"}]`` as stored, and whether any value was cut."""
    out: list[dict[str, Any]] = []
    was_cut = False
    for item in items:
        if type(item) is not dict or type(item.get("name")) is not str:
            continue
        name = item["name"]
        value, shortened = _value(name, item.get("value"), limit)
        was_cut |= shortened
        out.append({"name": name, "value": value})
    return out, was_cut


def _plain(items: Sequence[Any], limit: int) -> bool:
    """Every key a ``{"name", "value"}`` of text within ``limit``, none a secret: stored
    as it is."""
    for item in items:
        if type(item) is not dict or len(item) != 2:
            return False
        name, value = item.get("name"), item.get("value")
        if type(name) is not str or type(value) is not str or len(value) > limit:
            return False
        if _secret(name):
            return False
    return True


def stored_keys(items: Sequence[Any], limit: int) -> tuple[str, bool]:
    """The JSON of ``[{"name", "value"}]`` as stored, and whether a value was cut."""
    if _plain(items, limit):
        return orjson.dumps(items).decode(), False
    keys, was_cut = keys_of(items, limit)
    return orjson.dumps(keys).decode(), was_cut


# What the writer gets of an answered envelope (``captures_of``): (requestId, latency s,
# the moment (``moment_bytes``), method, errorCode, HTTP status, status, the answer's
# bytes, the request's bytes or None, whether the request parsed as an envelope, its
# clientID as the engine left it (a flow token's client) or "", the memoised answer's
# number (``Tokens``) or 0)
Captured = tuple[str, float, bytes, str, str, int, str, bytes, bytes | None, bool, str, int]

# A capture on the wire: this head, then the requestId, method, errorCode, status and
# clientID (UTF-8), the answer's bytes and the request's, each as long as the head says.
# The serving process copies what it needs into one buffer at once: holding the answered
# request's objects (its keys, its bodies) until the next send cost ~6 µs a request in
# memory traffic, four times the copy (bench/README.md, "Traces").
HEAD = struct.Struct("<HBdQ10s7I")  # HTTP status, flags, latency, token, moment, lengths
PARSED, HAS_BODY = 1, 2  # the head's flags


def moment_bytes(at: datetime) -> bytes:
    """An instant as the 10 bytes pickle keeps of a UTC datetime: exact to the
    microsecond for any year, ~0.1 µs (``timestamp()`` rounds far years, ``isoformat()``
    costs 1 µs); ``moment_of`` reads them back."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return cast(bytes, at.__reduce__()[1][0])


def moment_of(state: bytes) -> datetime:
    return datetime(state, UTC)  # type: ignore[arg-type,call-arg]  # pickle's way back


class Tokens:
    """A number for each memoised answer (an ``orjson.Fragment`` the calendar's memo
    hands out again and again), so the writer reads a repeated answer from its bytes once.
    A number is never reused; the map is cleared when full."""

    def __init__(self) -> None:
        self._of: dict[Any, int] = {}
        self._next = itertools.count(1)

    def of(self, fragment: Any) -> int:
        found = self._of.get(fragment)
        if found is None:
            if len(self._of) >= MEMO_ENTRIES:
                self._of.clear()
            found = self._of[fragment] = next(self._next)
        return found


def capture(
    outcome: Answered,
    request_id: str,
    latency: float,
    wire: bytes,
    body: bytes | None,
    now: Callable[[], datetime],
    tokens: Tokens,
) -> bytes:
    """What a trace needs of an answered envelope, as bytes (``wire``: the answer's bytes
    as sent; ``body``: the request's, when it was read; ``now``: the moment when the
    method saw none); ``captures_of`` reads them back."""
    env, answer = outcome.env, outcome.answer
    doc = answer.body
    keys = doc.get("keys")
    rid = request_id.encode()
    method = outcome.method.encode()
    error = outcome.error_code.encode()
    status = doc.get("status", "").encode()
    owner = b"" if env is None else (env.keys.get("clientid") or "").encode()
    sent = b"" if body is None else body
    head = HEAD.pack(
        answer.http_status,
        (env is not None and PARSED) | (body is not None and HAS_BODY),
        latency,
        0 if keys is None or type(keys) is list else tokens.of(keys),
        moment_bytes(outcome.now or now()),
        len(rid), len(method), len(error), len(status), len(owner), len(wire), len(sent),
    )  # fmt: skip
    return b"".join((head, rid, method, error, status, owner, wire, sent))


def captures_of(data: bytes) -> list[Captured]:
    """The captures in ``data`` (``capture``'s bytes, one after another); ValueError
    when it does not end where a capture does."""
    out: list[Captured] = []
    at, end, size, unpack = 0, len(data), HEAD.size, HEAD.unpack_from
    try:
        while at < end:
            code, flags, latency, token, moment, *lengths = unpack(data, at)
            at += size
            parts = []
            for n in lengths:
                parts.append(data[at : at + n])
                at += n
            rid, method, error, status, owner, wire, body = parts
            out.append(
                (rid.decode(), latency, moment, method.decode(), error.decode(), code,
                 status.decode(), wire, body if flags & HAS_BODY else None,
                 bool(flags & PARSED), owner.decode(), token)
            )  # fmt: skip
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(f"a capture is cut short or garbled: {exc}") from None
    if at != end:
        raise ValueError("a capture is cut short")
    return out


def _error_code(items: Sequence[Any]) -> str:
    for item in items:
        if isinstance(item, dict) and item.get("name") == "$flow.key.errorCode":
            return str(item.get("value", ""))[:MAX_METHOD]
    return ""


def token_digest(token: str) -> str:
    """How the writer knows a client's cust_token without holding it: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Rules:
    """What shaping a trace needs of the config, as plain data (the writer process gets
    it as JSON at start): no secret in it."""

    max_value_chars: int
    call_keys: tuple[str, ...]  # bare, lower case
    regions: Mapping[str, str]  # client -> its default region (numbers read there)
    cust_tokens: Mapping[str, str]  # token_digest of a client's cust_token -> the client
    bots: Mapping[str, str]  # bot id -> its client

    def to_json(self) -> dict[str, Any]:
        return {
            "max_value_chars": self.max_value_chars,
            "call_keys": list(self.call_keys),
            "regions": dict(self.regions),
            "cust_tokens": dict(self.cust_tokens),
            "bots": dict(self.bots),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Rules:
        return cls(
            int(doc["max_value_chars"]),
            tuple(doc["call_keys"]),
            dict(doc["regions"]),
            dict(doc["cust_tokens"]),
            dict(doc["bots"]),
        )


class Request(NamedTuple):
    """A captured request as the writer reads it (``Shaper._request``)."""

    method: str  # as sent, stripped
    keys: Mapping[str, str]  # by bare name, as the engine read them
    stored: str  # JSON {"method", "keys"}, secrets "***", long values cut
    cut: bool


@dataclass
class Shaper:
    """Turns captured answers into traces with a config's ``Rules``."""

    rules: Rules
    # the memo (see the module's docstring): body -> its Request; answer number -> JSON
    _requests: dict[bytes, Request] = field(default_factory=dict, repr=False)
    _answers: dict[int, tuple[str, bool]] = field(default_factory=dict, repr=False)

    def owner(self, named: str, keys: Mapping[str, str]) -> str:
        """clientID (``named``: as the engine left it, a flow token's client put there);
        else the client of a custToken (shortURL) or of a bot (linkcreation); else
        ``default``."""
        named = named.strip()
        if named:
            return named
        token = keys.get("custtoken")
        if token:
            return self.rules.cust_tokens.get(token_digest(token.strip()), "default")
        return self.rules.bots.get(keys.get("botid", "").strip(), "default")

    def number(self, client: str, text: str) -> str | None:
        """E.164 of ``text`` read in the client's region (an unknown client's: default's)."""
        regions = self.rules.regions
        region = regions[client] if client in regions else regions.get("default")
        if region is None:
            return None
        try:
            return phones.normalize(text, region)
        except phones.NumberRefused:
            return None

    def call_key(self, keys: Mapping[str, str]) -> str:
        for name in self.rules.call_keys:
            value = keys.get(name)
            if value and value.strip():
                return value.strip()[:MAX_CALL_KEY]
        return ""

    def _answer(self, wire: bytes, token: int) -> tuple[str, bool, Sequence[Any]]:
        """The stored answer keys, whether cut, and the keys as answered (read from the
        answer's bytes; a memoised answer's once per number)."""
        if token:
            found = self._answers.get(token)
            if found is not None:
                return *found, ()
        items = orjson.loads(wire).get("keys")
        items = items if isinstance(items, list) else []
        stored = stored_keys(items, self.rules.max_value_chars)
        if token:
            if len(self._answers) >= MEMO_ENTRIES:
                self._answers.clear()
            self._answers[token] = stored
        return *stored, items

    def _request(self, body: bytes) -> Request:
        """The request's method and keys (by bare name) as the engine parsed them, the
        stored ``{"method", "keys"}`` and whether a value was cut; a plain body's (no
        secret in it) from the memo."""
        found = self._requests.get(body)
        if found is not None:
            return found
        env = envelope.parse(body)  # it parsed in the serving process: it parses here
        limit = self.rules.max_value_chars
        if _plain(env.raw, limit):
            text = orjson.dumps({"method": env.method, "keys": env.raw}).decode()
            made = Request(env.method, env.keys, text, False)
            if len(body) <= MEMO_BODY_BYTES:  # plain: no secret in it
                if len(self._requests) >= MEMO_ENTRIES:
                    self._requests.clear()
                self._requests[body] = made
            return made
        keys, was_cut = keys_of(env.raw, limit)
        text = orjson.dumps({"method": env.method, "keys": keys}).decode()
        return Request(env.method, env.keys, text, was_cut)

    def trace(self, captured: Captured) -> Trace:
        """The trace of a captured answer."""
        (request_id, latency, moment, method, error_code, http_status, status, wire, body,
         parsed, named, token) = captured  # fmt: skip
        answer_json, answer_cut, items = self._answer(wire, token)
        client, cli, call_key, request, request_cut = "default", "", "", None, False
        if parsed and body is not None:
            sent_method, keys, request, request_cut = self._request(body)
            client = self.owner(named, keys)[:MAX_CLIENT]
            call_key = self.call_key(keys)
            sent = keys.get("cli") or keys.get("contactnumber")
            cli = (self.number(client, sent) or "") if sent else ""
            if method == "unknown":
                method = sent_method[:MAX_METHOD]
        if not error_code and status == "FAILED":
            error_code = _error_code(items or orjson.loads(answer_json))
        return Trace(  # positional: a third faster than by name, a trace a request
            request_id,
            client,
            moment_of(moment),
            method,
            http_status,
            status,
            error_code,
            int(latency * 1_000_000 + 0.5) / 1000,  # ms to the µs; round(x, 3) is 4x slower
            cli,
            call_key,
            request,
            answer_json,
            request_cut or answer_cut,
        )
