"""The request/response envelope of SPEC 1: parsing, key-name normalisation, answers.

A request names a method and carries flow variables as ``[{"name", "value"}]``.
Names lose the prefixes ``$flow.key.``, ``$flow.syskey.`` and ``$flow.`` and are
then matched case-insensitively; ``$user.key.*`` names keep their namespace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import orjson

from flowhooks.errors import BadEnvelope, EnvelopeError, HandlerFailed, InvalidKeys, KeyProblem
from flowhooks.texts import CONTROL

MAX_KEYS = 200
MAX_NAME_CHARS = 128
MAX_VALUE_BYTES = 8 * 1024
_SURELY_SHORT = MAX_VALUE_BYTES // 4  # a str of n chars is at most 4n bytes in UTF-8
USER_PREFIX = "$user.key."
FLOW_PREFIX = "$flow.key."
_STRIP_PREFIXES = ("$flow.key.", "$flow.syskey.", "$flow.")

# performance: one scan of the body says whether any string could hold one (JSON escapes
# them as \u00XX, \b or \f; DEL and C1 may come raw), so clean bodies skip per-value checks
_MAYBE_CONTROL = re.compile(rb"\\u00[0189]|\\u007[fF]|\\[bf]|\x7f|\xc2[\x80-\x9f]")

SUCCESS = "SUCCESS"
FAILED = "FAILED"


@lru_cache(maxsize=8192)
def bare_name(name: str) -> str:
    """The lookup form of a key name: prefixes stripped, lower case.

    ``$user.key.NAME`` keeps its namespace (lower-cased prefix, NAME as given).
    """
    lowered = name.lower()
    if lowered.startswith(USER_PREFIX):
        return USER_PREFIX + name[len(USER_PREFIX) :]
    for prefix in _STRIP_PREFIXES:
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered


@dataclass(slots=True)
class Envelope:
    """A parsed request: the method as sent, flow keys by bare name, user keys by NAME."""

    method: str
    keys: Mapping[str, str]
    user_keys: Mapping[str, str] = field(default_factory=dict)
    raw: Sequence[Any] = ()  # the keys as sent (checked by parse), for their names' case
    problems: Sequence[KeyProblem] = ()  # values no handler may take: a 422 once it is known

    def get(self, name: str) -> str | None:
        return self.keys.get(name.lower())


def keys_as_sent(env: Envelope) -> list[tuple[str, str]]:
    """The flow keys (not ``$user.key.*``) by bare name in the case sent, in the order
    first sent, each with its final value (the last one wins; null removes it)."""
    named: dict[str, str] = {}
    for item in env.raw:
        name = item["name"]
        bare = bare_name(name)
        if bare in env.keys and bare not in named:
            named[bare] = name[len(name) - len(bare) :]
    return [(sent, env.keys[bare]) for bare, sent in named.items()]


def _value_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise TypeError


def _parse_doc(body: bytes) -> tuple[str, list[Any]]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadEnvelope("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise BadEnvelope("body must be a JSON object with 'method' and 'keys'")
    method = doc.get("method")
    if not isinstance(method, str) or not method.strip():
        raise BadEnvelope("'method' must be a non-empty string")
    raw_keys = doc.get("keys", [])
    if not isinstance(raw_keys, list):
        raise BadEnvelope('\'keys\' must be a list of {"name", "value"} objects')
    if len(raw_keys) > MAX_KEYS:
        raise BadEnvelope(f"'keys' has {len(raw_keys)} entries; at most {MAX_KEYS} are allowed")
    return method.strip(), raw_keys


def _value_of(name: str, value: Any) -> str | None:
    """A key's value as text (None: absent); InvalidKeys naming the key when unusable."""
    text: str | None = value if type(value) is str else None
    if text is None and value is not None:
        try:
            text = _value_text(value)
        except TypeError:
            raise InvalidKeys(
                [KeyProblem(name, "value must be a string, number, boolean or null")]
            ) from None
    # a str of n chars is at most 4n bytes: encode only when it could be too long
    if text is not None and len(text) * 4 > MAX_VALUE_BYTES:
        if len(text.encode()) > MAX_VALUE_BYTES:
            raise InvalidKeys([KeyProblem(name, f"value is longer than {MAX_VALUE_BYTES} bytes")])
    return text


def parse(body: bytes) -> Envelope:
    """Parse and normalise an envelope; BadEnvelope on a bad shape. Values that cannot be
    used are left out and listed in ``problems`` (the engine answers them with the
    method's own error keys)."""
    method, raw_keys = _parse_doc(body)
    check_control = _MAYBE_CONTROL.search(body) is not None
    keys: dict[str, str] = {}
    user: dict[str, str] = {}
    problems: list[KeyProblem] = []
    for i, item in enumerate(raw_keys):
        name = item.get("name") if type(item) is dict else None
        if type(name) is not str:
            raise BadEnvelope(f"keys[{i}] must be an object with a string 'name'")
        if not name or len(name) > MAX_NAME_CHARS:
            raise BadEnvelope(f"keys[{i}].name must be 1 to {MAX_NAME_CHARS} characters")
        if check_control and CONTROL.search(name):
            raise BadEnvelope(f"keys[{i}].name holds a control character")
        value = item.get("value")
        if type(value) is not str or len(value) > _SURELY_SHORT:  # else it is fine as it is
            try:
                value = _value_of(name, value)
            except InvalidKeys as exc:
                problems.extend(exc.details)
                continue
        if check_control and value is not None and (bad := CONTROL.search(value)):
            problems.append(KeyProblem(name, f"holds a control character (U+{ord(bad[0]):04X})"))
            continue
        bare = bare_name(name)
        if bare.startswith(USER_PREFIX):
            target, bare = user, bare[len(USER_PREFIX) :]
        else:
            target = keys
        if not bare:
            raise BadEnvelope(f"keys[{i}].name {name!r} has nothing after its prefix")
        if value is None:
            target.pop(bare, None)  # null means absent, and the last one wins
        else:
            target[bare] = value
    return Envelope(method, keys, user, raw_keys, problems)


# -- answers ------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _flow_name(name: str) -> str:
    return name if name.startswith("$") else FLOW_PREFIX + name


def _text(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(slots=True)
class Answer:
    """An HTTP status and the JSON document the caller receives."""

    http_status: int
    body: dict[str, Any]
    headers: dict[str, str] | None = None  # extra HTTP headers (a 429's Retry-After)

    def dumps(self) -> bytes:
        return orjson.dumps(self.body)


def render(outputs: Mapping[str, object]) -> list[dict[str, str]]:
    """Bare output names get the ``$flow.key.`` prefix; every value becomes text.

    Always new dicts: nothing in one answer's body is shared with another or a memo.
    """
    return [
        {"name": _flow_name(k), "value": v if type(v) is str else _text(v)}
        for k, v in outputs.items()
    ]


_STATUS_OK = {"name": "$flow.key.status", "value": SUCCESS}
# Performance: a memoised answer (validateDateTime's) repeats, and rendering its ten keys
# costs ~1.3 µs where finding their JSON by value costs ~0.4 µs. Only immutable all-text
# mappings (a memo's MappingProxyType) are kept, bounded; a Fragment is immutable bytes, so no
# answer shares anything mutable with another or with the memo.
_RENDERED: dict[tuple[tuple[str, object], ...], orjson.Fragment] = {}
_RENDERED_MAX = 4096


def _keys_json(outputs: Mapping[str, object]) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps([_STATUS_OK, *render(outputs)]))


def _success_keys(outputs: Mapping[str, object]) -> list[dict[str, str]] | orjson.Fragment:
    if type(outputs) is not MappingProxyType:
        return [dict(_STATUS_OK), *render(outputs)]  # a fresh dict: answers share nothing
    by_value = tuple(outputs.items())
    try:
        found = _RENDERED.get(by_value)
    except TypeError:  # an unhashable value
        found = None
    if found is None:
        found = _keys_json(outputs)
        # only all-text answers are kept: 1 == True == 1.0 must never share a rendering
        if all(type(v) is str for _, v in by_value):
            if len(_RENDERED) >= _RENDERED_MAX:
                _RENDERED.clear()
            _RENDERED[by_value] = found
    return found


def success(method: str, request_id: str, outputs: Mapping[str, object]) -> Answer:
    """HTTP 200, status SUCCESS, ``$flow.key.status`` first."""
    keys = _success_keys(outputs)
    return Answer(200, {"method": method, "status": SUCCESS, "requestId": request_id, "keys": keys})


def _failed_keys(code: str, message: str, extra: Mapping[str, object] = {}) -> list[dict[str, str]]:
    keys = [
        {"name": "$flow.key.status", "value": FAILED},
        {"name": "$flow.key.errorCode", "value": code},
        {"name": "$flow.key.errorMessage", "value": message},
    ]
    keys.extend({"name": _flow_name(k), "value": _text(v)} for k, v in extra.items())
    return keys


def handler_failed(method: str, request_id: str, exc: HandlerFailed) -> Answer:
    """HTTP 200, status FAILED: the handler ran, the flow takes its failure branch."""
    keys = _failed_keys(exc.code, exc.message, exc.keys)
    return Answer(200, {"method": method, "status": FAILED, "requestId": request_id, "keys": keys})


def error(
    method: str,
    request_id: str,
    http_status: int,
    code: str,
    message: str,
    details: Sequence[KeyProblem] = (),
    extra: Mapping[str, object] = {},
) -> Answer:
    """A 4xx/5xx answer in the envelope shape, with the ``error`` object."""
    body = {
        "method": method,
        "status": FAILED,
        "requestId": request_id,
        "keys": _failed_keys(code, message, extra),
        "error": {"code": code, "message": message, "details": [d.as_dict() for d in details]},
    }
    return Answer(http_status, body)


def envelope_error(
    method: str, request_id: str, exc: EnvelopeError, extra: Mapping[str, object] = {}
) -> Answer:
    return error(method, request_id, exc.http_status, exc.code, exc.message, exc.details, extra)
