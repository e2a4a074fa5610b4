"""What a trace holds, built from an answered envelope: pure, no I/O.

Secrets go by the one rule (``redact.is_secret``): the value becomes ``"***"`` and the
name stays, so a replay knows which secret to fill. A value longer than
``max_value_chars`` keeps its first characters and a mark saying how many were cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import orjson

from flowhooks.envelope import Answer, Envelope
from flowhooks.redact import is_secret

REDACTED = "***"
CUT = re.compile(r"…\[\+\d+ chars cut\]\Z")  # the mark a cut value ends with
CLI_KEYS = ("cli", "contactnumber")
MAX_CLIENT = 64
MAX_METHOD = 64
MAX_CALL_KEY = 128


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


def answer_items(answer: Answer, wire: bytes | None) -> Sequence[Any]:
    """The answer's ``keys`` as a list (a memoised answer holds them as JSON bytes)."""
    keys = answer.body.get("keys")
    if isinstance(keys, list):
        return keys
    found = orjson.loads(wire if wire is not None else answer.dumps()).get("keys")
    return found if isinstance(found, list) else []


def _error_code(outcome: Answered, items: Sequence[Any]) -> str:
    if outcome.error_code or outcome.answer.body.get("status") != "FAILED":
        return outcome.error_code
    for item in items:
        if isinstance(item, dict) and item.get("name") == "$flow.key.errorCode":
            return str(item.get("value", ""))[:MAX_METHOD]
    return ""


@dataclass(frozen=True)
class Shaper:
    """Turns answered envelopes into traces with a config's rules.

    ``owner``: the client a request belongs to (its keys by bare name -> client);
    ``number``: E.164 of a caller's number for a client, or None.
    """

    max_value_chars: int
    call_keys: tuple[str, ...]  # bare, lower case
    owner: Callable[[Mapping[str, str]], str]
    number: Callable[[str, str], str | None]

    def call_key(self, keys: Mapping[str, str]) -> str:
        for name in self.call_keys:
            value = keys.get(name)
            if value and value.strip():
                return value.strip()[:MAX_CALL_KEY]
        return ""

    def trace(
        self,
        outcome: Answered,
        request_id: str,
        latency: float,
        now: datetime,
        wire: bytes | None = None,
    ) -> Trace:
        env, answer, limit = outcome.env, outcome.answer, self.max_value_chars
        items = answer_items(answer, wire)
        answer_keys, answer_cut = keys_of(items, limit)
        client, cli, call_key, request, request_cut = "default", "", "", None, False
        method = outcome.method
        if env is not None:
            client = self.owner(env.keys)[:MAX_CLIENT]
            call_key = self.call_key(env.keys)
            sent = next((env.keys[k] for k in CLI_KEYS if env.keys.get(k)), None)
            cli = (self.number(client, sent) or "") if sent else ""
            request_keys, request_cut = keys_of(env.raw, limit)
            request = orjson.dumps({"method": env.method, "keys": request_keys}).decode()
            if method == "unknown":
                method = env.method[:MAX_METHOD]
        return Trace(
            request_id=request_id,
            client=client,
            at=outcome.now or now,
            method=method,
            http_status=answer.http_status,
            status=str(answer.body.get("status", "")),
            error_code=_error_code(outcome, items),
            latency_ms=round(latency * 1000, 3),
            cli=cli,
            call_key=call_key,
            request=request,
            answer=orjson.dumps(answer_keys).decode(),
            cut=request_cut or answer_cut,
        )
