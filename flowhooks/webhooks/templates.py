"""Webhook templates (SPEC 2.4): ``{{var}}`` placeholders in a URL, header values and a
JSON body, each filled with the escaping its place needs.

* URL: every value percent-encoded (nothing is safe), so a value can never add a path,
  a query key or change the host; placeholders are allowed in the path and query only.
* Body: every value JSON-escaped (the text between the quotes of a JSON string).
* Header values: control characters dropped (no header injection).
* An unknown variable is the empty string. The default body is the event itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import orjson

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# what each event's variables look like, to check templates at start
SAMPLES: dict[str, dict[str, str]] = {
    "call_status": {
        "id": "3f1c2a9e-sample",
        "request_id": "9b2d-sample",
        "to": "+919979746666",
        "from": "",
        "status": "completed",
        "attempt": "1",
        "final": "true",
        "duration": "23",
        "start_at": "2021-04-09 16:27:39",
        "end_at": "2021-04-09 16:27:55",
        "recording_url": "https://example.com/r.mp3",
        "end_call_reason": "human_goodbye",
        "reference_id": 'ref "quoted" \\ line\nbreak',
        "email": "a@example.com",
    },
    "report": {"id": "r-sample", "client": "acme", "created_at": "2026-01-01T00:00:00+00:00"},
}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fill_url(template: str, variables: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: quote(_text(variables.get(m.group(1))), safe=""), template)


def fill_header(template: str, variables: Mapping[str, object]) -> str:
    filled = PLACEHOLDER.sub(lambda m: _text(variables.get(m.group(1))), template)
    return _CONTROL.sub("", filled)


def _json_escaped(value: object) -> str:
    return orjson.dumps(_text(value)).decode()[1:-1]


def fill_body(template: str | None, variables: Mapping[str, object]) -> bytes:
    """The filled body template, or the event as a JSON object when there is none."""
    if template is None:
        return orjson.dumps({k: _text(v) for k, v in variables.items()})
    return PLACEHOLDER.sub(lambda m: _json_escaped(variables.get(m.group(1))), template).encode()


def template_problems(event: str, url: str, body: str | None) -> list[tuple[str, str]]:
    """(key, problem) for a webhook's templates: checked once, at start."""
    problems = []
    parts = urlsplit(PLACEHOLDER.sub("x", url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(("url", "must be an http:// or https:// URL with a host"))
    head = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if PLACEHOLDER.search(head):
        problems.append(("url", "placeholders may not be in the host or port"))
    if body is not None:
        try:
            orjson.loads(fill_body(body, SAMPLES[event]))
        except orjson.JSONDecodeError as exc:
            problems.append(("body", f"is not valid JSON once filled with sample values: {exc}"))
    return problems


SECRET_QUERY = re.compile(r"(?i)(secret|token|password|passwd|key|sig|auth)")


def masked(url: str) -> str:
    """A URL for display: values of query keys that look secret replaced by ``***``."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    parts = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        parts.append(f"{name}=***" if eq and SECRET_QUERY.search(name) else pair)
    return f"{base}?{'&'.join(parts)}"
