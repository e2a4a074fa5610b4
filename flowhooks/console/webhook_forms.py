"""The webhook forms of /console/webhooks turned into the bodies ``/api/v1/webhooks``
takes (the service then checks them with the API's own rules and messages), and an
endpoint turned back into the form's values. Pure: no I/O.

An edit sends only what the person changed (a PATCH): a value the page showed masked
(``***`` for a URL's secret query value or a secret-looking header's template) and sent
back as ``***`` keeps what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import MultiMapping

from flowhooks.webhooks import templates
from flowhooks.webhooks.endpoints import FieldProblem, shown_headers

MASK = "***"
# the form's input that shows each field the API names in a FieldProblem
INPUTS = {
    "basicAuth": "username",
    "basicAuth.username": "username",
    "basicAuth.password": "password",
}


def input_of(field: str) -> str:
    """The name of the form input a problem with ``field`` belongs next to."""
    return INPUTS.get(field, field)


def _text(form: MultiMapping[Any], name: str) -> str:
    return str(form.get(name) or "")


def headers_of(text: str) -> dict[str, str]:
    """``Name: template`` a line (blank lines skipped), as the API's ``headers``."""
    found: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise FieldProblem("headers", f"line {n}: write one header a line, as Name: value")
        found[name.strip()] = value.strip()
    return found


def headers_text(headers: Mapping[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def creation(form: MultiMapping[Any]) -> dict[str, Any]:
    """The body of a ``POST /api/v1/webhooks`` from the create form."""
    body: dict[str, Any] = {
        "url": _text(form, "url").strip(),
        "events": [str(e) for e in form.getall("events", [])],
        "description": _text(form, "description").strip(),
        "headers": headers_of(_text(form, "headers")),
        "body": _text(form, "body").strip() or None,
    }
    username, password = _text(form, "username").strip(), _text(form, "password")
    if username or password:
        body["basicAuth"] = {"username": username, "password": password}
    if secret := _text(form, "secret").strip():
        body["secret"] = secret
    return body


def shown(row: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """A stored endpoint as the edit form shows it (masked as the API shows it)."""
    return {
        "url": templates.masked(row["url"]),
        "events": list(row["events"]),
        "description": row["description"] or "",
        "headers": headers_text(shown_headers(row["headers"] or {})),
        "body": row["body"] or "",
        "username": row["username"] or "",
    }


def change(form: MultiMapping[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a ``PATCH /api/v1/webhooks/{id}``: the fields the edit form changed.

    Basic auth: a password given sets it (with the username); both left empty remove it;
    the password left empty otherwise keeps it (a new username needs it again)."""
    before = shown(row)
    body: dict[str, Any] = {}
    url = unmasked(_text(form, "url").strip(), row["url"])
    if url != row["url"]:
        body["url"] = url
    events = [str(e) for e in form.getall("events", [])]
    if sorted(events) != sorted(before["events"]):
        body["events"] = events
    description = _text(form, "description").strip()
    if description != before["description"]:
        body["description"] = description
    stored = dict(row["headers"] or {})
    headers = {
        name: stored[name] if value == MASK and name in stored else value
        for name, value in headers_of(_text(form, "headers")).items()
    }
    if headers != stored:
        body["headers"] = headers
    template = _text(form, "body").strip() or None
    if template != (row["body"] or None):
        body["body"] = template
    username, password = _text(form, "username").strip(), _text(form, "password")
    if not username and not password:
        if row["username"]:
            body["basicAuth"] = None
    elif password or username != before["username"]:
        body["basicAuth"] = {"username": username, "password": password}
    return body


def unmasked(url: str, stored: str) -> str:
    """``url`` with each query value sent back as ``***`` the stored URL's value of that
    key (the form showed it masked)."""
    base, sep, query = url.partition("?")
    if not sep or MASK not in query:
        return url
    kept = dict(pair.partition("=")[::2] for pair in stored.partition("?")[2].split("&"))
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}={kept[name]}" if eq and value == MASK and name in kept else pair)
    return f"{base}?{'&'.join(pairs)}"


def grace(form: MultiMapping[Any]) -> dict[str, Any]:
    """The body of a rotation: ``gracePeriodSeconds`` as a number when it is one."""
    text = _text(form, "gracePeriodSeconds").strip()
    if not text:
        return {}
    digits = text.removeprefix("-")
    whole = digits.isascii() and digits.isdigit() and len(digits) < 10
    return {"gracePeriodSeconds": int(text) if whole else text}


def test_event(form: MultiMapping[Any]) -> dict[str, Any]:
    event = _text(form, "event")
    return {"event": event} if event else {}
