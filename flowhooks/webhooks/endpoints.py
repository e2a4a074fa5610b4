"""Endpoints customers manage through ``/api/v1/webhooks`` (seed 001's "Webhooks
section", seed 003's create-webhook API): what a create or a change may hold, checked
field by field, pure. The same template rules as config endpoints (SPEC 2.4).

A field that is wrong is named in a ``FieldProblem``; the first one found is answered
(422). Secrets are made here (``whk_`` ids, ``whsec_`` secrets) and sealed by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowhooks.texts import has_control
from flowhooks.webhooks import signing, targets, templates
from flowhooks.webhooks.events import EVENTS

MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 500
MAX_HEADERS = 20
MAX_HEADER_VALUE_CHARS = 1024
MAX_BODY_CHARS = 16 * 1024
MAX_AUTH_CHARS = 200
DEFAULT_GRACE_SECONDS = 86_400
MAX_GRACE_SECONDS = 604_800
ID_PREFIX = "whk_"
# names a template may not set: the request's own framing and the signature's headers
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
        "connection",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")  # RFC 9110 field-name
_ID = re.compile(r"^whk_[A-Za-z0-9_-]{1,40}$")
_SECRET_HEADER = re.compile(r"(?i)(auth|token|secret|key|sig|password|cookie)")
CREATE_FIELDS = frozenset(
    {"url", "events", "description", "enabled", "basicAuth", "headers", "body", "secret"}
)
PATCH_FIELDS = CREATE_FIELDS - {"secret"}  # a new secret only through /secret/rotate


class FieldProblem(Exception):
    """A field of a webhook body that is missing or wrong (answered 422 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message  # without the field's name
        self.message = f"{field}: {message}"


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str


@dataclass(frozen=True)
class EndpointChange:
    """The fields a create or a PATCH sets (a PATCH: only those it named)."""

    values: dict[str, Any] = field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    clears_basic_auth: bool = False
    secret: str | None = None  # create only; made when not given


@dataclass(frozen=True)
class Target:
    """Where and how one delivery is sent: a config hook, a stored endpoint or a
    one-off URL, alike for the delivery loop."""

    id: str  # the deliveries' ``endpoint``: an event, a webhookId or "url:<hash>"
    client: str
    url: str  # a template (SPEC 2.4)
    enabled: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    keys: tuple[bytes, ...] = ()  # signing keys: the current one first, then a rotated one
    basic_auth: tuple[str, str] | None = None
    events: tuple[str, ...] = EVENTS
    old_key_until: datetime | None = None  # a rotated key signs too until then

    def keys_at(self, now: datetime) -> tuple[bytes, ...]:
        """The keys that sign now: both while a rotation's grace lasts, then the new one."""
        if self.old_key_until is not None and now >= self.old_key_until:
            return self.keys[:1]
        return self.keys

    @property
    def fingerprint(self) -> str:
        """Identifies the URL: the endpoint's failures are forgotten when it changes."""
        return url_fingerprint(self.url)


def url_fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def one_off_endpoint(url: str) -> str:
    """The ``endpoint`` of a createOutbound's webhookUrl: one per distinct URL."""
    return "url:" + url_fingerprint(url)


def new_id() -> str:
    return ID_PREFIX + secrets.token_urlsafe(18)


def new_secret() -> str:
    return signing.PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def valid_id(text: str) -> bool:
    return bool(_ID.match(text))


def _text(body: Mapping[str, Any], name: str, max_chars: int) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise FieldProblem(name, "must be a string")
    if len(value) > max_chars:
        raise FieldProblem(name, f"longer than {max_chars} characters")
    if has_control(value):
        raise FieldProblem(name, "holds a control character")
    return value


def _url(body: Mapping[str, Any], allow_private: bool) -> str:
    url = _text(body, "url", MAX_URL_CHARS).strip()
    check_url(url, allow_private, "url")
    return url


def check_url(url: str, allow_private: bool, name: str) -> None:
    """A customer's URL: http(s) with a host, placeholders only after it, not a literal
    private address unless ``[security] allow_private_targets`` (the connect-time guard
    still checks what a name resolves to)."""
    if not url:
        raise FieldProblem(name, "missing or empty")
    for _, problem in templates.template_problems("call_status", url, None):
        raise FieldProblem(name, problem)
    if not allow_private:
        host = targets.literal_forbidden_host(templates.PLACEHOLDER.sub("x", url))
        if host is not None:
            raise FieldProblem(
                name, f"{host} is a private, loopback or link-local address; not allowed"
            )


def _events(body: Mapping[str, Any]) -> list[str]:
    value = body["events"]
    if not isinstance(value, list) or not value:
        raise FieldProblem("events", f"must be a non-empty list of {', '.join(EVENTS)}")
    for item in value:
        if item not in EVENTS:
            raise FieldProblem("events", f"{item!r} is not one of {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in value]  # one order, no repeats


def _headers(body: Mapping[str, Any]) -> dict[str, str]:
    value = body["headers"]
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldProblem("headers", "must be an object of header name to template")
    if len(value) > MAX_HEADERS:
        raise FieldProblem("headers", f"at most {MAX_HEADERS} headers")
    for name, template in value.items():
        if not _TOKEN.match(name):
            raise FieldProblem("headers", f"{name[:64]!r} is not a header name")
        if name.lower() in RESERVED_HEADERS:
            raise FieldProblem("headers", f"{name} is set by flowhooks itself")
        if not isinstance(template, str) or len(template) > MAX_HEADER_VALUE_CHARS:
            raise FieldProblem(
                "headers", f"{name}: must be a string of at most {MAX_HEADER_VALUE_CHARS}"
            )
    return dict(value)


def _body_template(body: Mapping[str, Any], events: list[str]) -> str | None:
    value = body["body"]
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_BODY_CHARS:
        raise FieldProblem("body", f"must be a string of at most {MAX_BODY_CHARS} characters")
    for event in events:
        for _, problem in templates.template_problems(event, "https://x.example/", value):
            raise FieldProblem("body", f"{problem} (event {event})")
    return value


def _basic_auth(body: Mapping[str, Any]) -> BasicAuth | None:
    value = body["basicAuth"]
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"username", "password"}:
        raise FieldProblem("basicAuth", "must be {username, password} or null")
    parts = []
    for name in ("username", "password"):
        text = value[name]
        if not isinstance(text, str) or not text or len(text) > MAX_AUTH_CHARS:
            raise FieldProblem(f"basicAuth.{name}", f"must be 1 to {MAX_AUTH_CHARS} characters")
        if has_control(text):
            raise FieldProblem(f"basicAuth.{name}", "holds a control character")
        parts.append(text)
    if ":" in parts[0]:
        raise FieldProblem("basicAuth.username", "may not hold ':'")
    return BasicAuth(*parts)


def _unknown(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            hint = " (change it with POST .../secret/rotate)" if name == "secret" else ""
            raise FieldProblem(str(name)[:64], f"is not a field of a webhook{hint}")


def _fields(
    body: Mapping[str, Any], allow_private: bool, events: list[str]
) -> tuple[dict[str, Any], BasicAuth | None, bool]:
    values: dict[str, Any] = {}
    if "url" in body:
        values["url"] = _url(body, allow_private)
    if "events" in body:
        values["events"] = events
    if "description" in body:
        values["description"] = _text(body, "description", MAX_DESCRIPTION_CHARS)
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise FieldProblem("enabled", "must be true or false")
        values["enabled"] = body["enabled"]
    if "headers" in body:
        values["headers"] = _headers(body)
    if "body" in body:
        values["body"] = _body_template(body, events)
    auth = _basic_auth(body) if "basicAuth" in body else None
    return values, auth, "basicAuth" in body and auth is None


def creation(body: Mapping[str, Any], allow_private: bool) -> EndpointChange:
    """What a POST /api/v1/webhooks creates (defaults filled); FieldProblem if not."""
    _unknown(body, CREATE_FIELDS)
    if "url" not in body:
        raise FieldProblem("url", "missing")
    events = _events(body) if "events" in body else list(EVENTS)
    values, auth, _ = _fields(body, allow_private, events)
    values = {"events": events, "description": "", "enabled": True, "headers": {}, **values}
    values.setdefault("body", None)
    secret = body.get("secret")
    if secret is None:
        secret = new_secret()
    elif not isinstance(secret, str):
        raise FieldProblem("secret", "must be a string whsec_<base64>")
    else:
        try:
            signing.secret_key(secret)
        except ValueError as exc:
            raise FieldProblem("secret", str(exc)) from None
    return EndpointChange(values, auth, False, secret)


def change(
    body: Mapping[str, Any], allow_private: bool, current_events: list[str], current_body: Any
) -> EndpointChange:
    """What a PATCH changes: only the fields it names; a body template is checked against
    the events the endpoint will have."""
    _unknown(body, PATCH_FIELDS)
    events = _events(body) if "events" in body else current_events
    if "body" not in body and "events" in body and current_body is not None:
        _body_template({"body": current_body}, events)  # the kept template, new events
    values, auth, clears = _fields(body, allow_private, events)
    return EndpointChange(values, auth, clears)


def grace_seconds(body: Mapping[str, Any]) -> int:
    """``gracePeriodSeconds`` of a rotation: how long the old secret still signs."""
    _unknown(body, frozenset({"gracePeriodSeconds"}))
    value = body.get("gracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem("gracePeriodSeconds", "must be a whole number of seconds")
    if not 0 <= value <= MAX_GRACE_SECONDS:
        raise FieldProblem("gracePeriodSeconds", f"must be from 0 to {MAX_GRACE_SECONDS}")
    return value


def test_event(body: Mapping[str, Any], events: list[str]) -> str:
    """``event`` of a test send: one the endpoint takes (default: its first)."""
    _unknown(body, frozenset({"event"}))
    event = body.get("event", events[0])
    if event not in events:
        raise FieldProblem("event", f"must be one this webhook takes: {', '.join(events)}")
    return str(event)


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header templates for display: the values of secret-looking ones as ``***``."""
    return {k: "***" if _SECRET_HEADER.search(k) else v for k, v in headers.items()}
