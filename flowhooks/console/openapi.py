"""The console's routes in the OpenAPI document: HTML pages, not an API, listed so the
document names every route (a page without a session answers 303 to the sign-in)."""

from __future__ import annotations

import re
from typing import Any

from flowhooks.console.app import routes, to_console

HTML = {"text/html": {"schema": {"type": "string"}}}
FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {"csrf": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            }
        }
    },
}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": HTML}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description}


def _operation(method: str, path: str, summary: str) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    op: dict[str, Any] = {"summary": summary, "tags": ["console"]}
    if params:
        op["parameters"] = params
    if path == "/":
        op["responses"] = {"302": _redirect("to /console")}
    elif path == "/console/static/{name}":
        files = {
            t: {"schema": {"type": "string"}} for t in ("text/javascript", "text/css", "text/plain")
        }
        op["responses"] = {
            "200": {"description": "the file", "content": files},
            "404": {"description": "no such file", "content": {"text/plain": files["text/plain"]}},
        }
    else:
        op["responses"] = {
            "200": {
                "description": "the page (or a file it offers)",
                "content": {
                    **HTML,
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "application/json": {"schema": {}},
                },
            },
            "303": _redirect("to the sign-in page without a session; after a change, to a page"),
            **{code: _html(text) for code, text in _ANSWERS.items()},
        }
    if method == "POST":
        op["requestBody"] = FORM
    return op


_ANSWERS = {
    "400": "a filter or form value is malformed (the page names it)",
    "401": "sign-in: the token opens no console",
    "403": "the form's CSRF token is missing or wrong",
    "404": "no such thing for this client",
    "409": "webhooks: the client has its max_endpoints_per_client already",
    "422": "webhooks: a form's field is wrong (the page names it, as the API does)",
    "429": "sign-in: too many failures from this address in the last minute",
    "503": "the database does not answer, or no secret_key (sign-in, webhook secrets)",
}


def paths() -> dict[str, Any]:
    """The console's paths as OpenAPI path items."""
    found: dict[str, Any] = {}
    for method, path, handler in routes(to_console):
        doc = (handler.__doc__ or "").strip().splitlines()
        summary = doc[0] if doc else f"console page {path}"
        found.setdefault(path, {})[method.lower()] = _operation(method, path, summary)
    return found
