"""/console/playground: send one envelope of any method with typed keys, see the answer.

The form is made from the method's ``Input`` exactly as ``GET /methods`` describes it
(one labelled input a key: its description as help, its example as placeholder). The
envelope runs in-process through the same ``Engine`` as ``POST /webhook`` (what the
replay harness does), as the signed-in client: ``clientID`` is always that client
and its ``flow_token`` (or the service's token) authorises it. The answer shows the
``$flow.key.*`` names and values, the HTTP status and the latency, with the same
request as a curl command and as a replay case (SPEC 5) to download.
"""

from __future__ import annotations

import re
import shlex
import time
from typing import Any

import orjson
from aiohttp import web

from flowhooks.console.pages import client_of, form_of, page, render
from flowhooks.methods.engine import CLIENT_KEY, RawRequest
from flowhooks.redact import is_secret
from flowhooks.request_ids import new_request_id
from flowhooks.web import keys as appkeys
from flowhooks.web.meta import describe

NAV = ("/console/playground", "Playground")
DEFAULT_METHOD = "validateDateTime"
# answer values that differ on every run (ids, short links): "*" in a saved case
_VARYING = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|/s/[0-9A-Za-z]+$", re.I
)


def _methods(request: web.Request) -> dict[str, dict[str, Any]]:
    return {h.method: describe(h) for h in request.app[appkeys.REGISTRY].values()}


def _chosen(request: web.Request, name: object) -> dict[str, Any]:
    methods = _methods(request)
    if isinstance(name, str) and name in methods:
        return methods[name]
    return methods.get(DEFAULT_METHOD) or next(iter(methods.values()))


def _context(
    request: web.Request, method: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    settings = request.app[appkeys.SETTINGS]
    return {
        "title": "Playground",
        "methods": sorted(_methods(request)),
        "method": method,
        "values": values,
        "client": client_of(request),
        "client_key": CLIENT_KEY,
        "allows_now": settings.testing.allow_clock_override,
        "is_secret": is_secret,
    }


@page
async def show(request: web.Request) -> web.StreamResponse:
    method = _chosen(request, request.query.get("method"))
    return render(request, "playground.html", {**_context(request, method, {}), "answer": None})


def _authorization(request: web.Request, client: str) -> tuple[str | None, str | None]:
    """(the header the engine is given, what the curl shows in its place)."""
    settings = request.app[appkeys.SETTINGS]
    flow_token = settings.clients[client].flow_token
    if flow_token is not None:
        return f"Bearer {flow_token.get_secret_value()}", "Bearer $FLOW_TOKEN"
    if settings.server.token is not None:
        return f"Bearer {settings.server.token.get_secret_value()}", "Bearer $FLOWHOOKS_TOKEN"
    return None, None


def curl_of(base: str, envelope: dict[str, Any], now: str | None, auth: str | None) -> str:
    lines = [f"curl -s {shlex.quote(base.rstrip('/') + '/webhook')}"]
    lines.append("-H 'Content-Type: application/json'")
    if auth:
        lines.append(f'-H "Authorization: {auth}"')
    if now:
        lines.append(f"-H {shlex.quote('X-Flowhooks-Now: ' + now)}")
    lines.append(f"-d {shlex.quote(orjson.dumps(envelope).decode())}")
    return " \\\n  ".join(lines)


def case_of(
    envelope: dict[str, Any], now: str | None, http: int, body: dict[str, Any]
) -> dict[str, Any]:
    """A replay case (SPEC 5) expecting this answer (varying values as "*")."""
    keys = {
        k["name"]: ("*" if _VARYING.search(str(k["value"])) else k["value"])
        for k in body.get("keys", [])
    }
    case: dict[str, Any] = {"name": f"{envelope['method']} from the console playground"}
    if now:
        case["now"] = now
    case["request"] = envelope
    case["expect"] = {"http": http, "status": body.get("status"), "keys": keys}
    return case


@page
async def send(request: web.Request) -> web.StreamResponse:
    form = form_of(request)
    method = _chosen(request, form.get("method"))
    client = client_of(request)
    values = {i["name"]: str(form.get(i["name"]) or "").strip() for i in method["inputs"]}
    keys = [{"name": name, "value": value} for name, value in values.items() if value]
    if any(i["name"].lower() == CLIENT_KEY for i in method["inputs"]):
        keys = [k for k in keys if k["name"].lower() != CLIENT_KEY]
        keys.append(
            {
                "name": next(
                    i["name"] for i in method["inputs"] if i["name"].lower() == CLIENT_KEY
                ),
                "value": client,
            }
        )
    envelope = {"method": method["method"], "keys": keys}
    now = str(form.get("now") or "").strip() or None
    settings = request.app[appkeys.SETTINGS]
    if not settings.testing.allow_clock_override:
        now = None
    auth, shown_auth = _authorization(request, client)
    raw = RawRequest(orjson.dumps(envelope), "application/json", auth, now, new_request_id())
    started = time.perf_counter()
    outcome = await request.app[appkeys.ENGINE].answer(raw)
    latency_ms = (time.perf_counter() - started) * 1000
    body = orjson.loads(outcome.answer.dumps())  # as the wire carries it
    shown = {  # secrets never leave in an answer: "***", as in traces' replay cases
        "method": envelope["method"],
        "keys": [{**k, "value": "***"} if is_secret(k["name"]) else k for k in keys],
    }
    case = case_of(shown, now, outcome.answer.http_status, body)
    answer = {
        "http": outcome.answer.http_status,
        "status": body.get("status"),
        "request_id": body.get("requestId"),
        "latency_ms": latency_ms,
        "keys": body.get("keys", []),
        "error": body.get("error"),
        "curl": curl_of(settings.server.public_base_url, shown, now, shown_auth),
        "case": orjson.dumps(case, option=orjson.OPT_INDENT_2).decode(),
    }
    values = {k: ("" if is_secret(k) else v) for k, v in values.items()}
    values["now"] = now or ""
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "answer":
        return render(request, "playground_answer.html", {"answer": answer})
    context = {**_context(request, method, values), "answer": answer}
    return render(request, "playground.html", context)


@page
async def save_case(request: web.Request) -> web.StreamResponse:
    """The case shown with an answer, as a file (a form post: no script needed)."""
    text = str(form_of(request).get("case") or "")
    try:
        case = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(reason="case is not JSON") from None
    if not isinstance(case, dict) or not isinstance(case.get("request"), dict):
        raise web.HTTPBadRequest(reason="case is not a replay case")
    name = re.sub(r"[^A-Za-z0-9_-]", "", str(case["request"].get("method", "case")))[:40] or "case"
    return web.Response(
        body=orjson.dumps(case, option=orjson.OPT_INDENT_2) + b"\n",
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="{name}.case.json"',
        },
    )


ROUTES = [
    ("GET", "/console/playground", show),
    ("POST", "/console/playground", send),
    ("POST", "/console/playground/case", save_case),
]
