"""The OpenAPI 3.1 document of every HTTP route, with the per-method key schemas."""

from __future__ import annotations

from typing import Any

from flowhooks import __version__
from flowhooks.method import Method
from flowhooks.methods.registry import MethodRegistry
from flowhooks.settings import Settings
from flowhooks.web import traces as traces_api

_KEY = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "name": {"type": "string"},
        "value": {"type": ["string", "number", "boolean", "null"]},
    },
}
_ANSWER = {
    "type": "object",
    "required": ["method", "status", "requestId", "keys"],
    "properties": {
        "method": {"type": "string"},
        "status": {"enum": ["SUCCESS", "FAILED"]},
        "requestId": {"type": "string"},
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
}
_ERRORS = {
    "400": "BAD_ENVELOPE: not JSON or the wrong shape",
    "401": "UNAUTHORIZED: missing or wrong bearer token",
    "404": "UNKNOWN_METHOD: the message lists the known methods",
    "413": "TOO_LARGE: body over max_body_bytes",
    "415": "UNSUPPORTED_MEDIA_TYPE: not application/json",
    "403": "FORBIDDEN: a flow token with a clientID naming another client",
    "408": "TIMEOUT: the body did not arrive within body_timeout_seconds",
    "422": "INVALID_KEYS: details name each missing or malformed key",
    "429": "RATE_LIMITED: the client named is over max_requests_per_second; see Retry-After",
    "500": "INTERNAL: a bug; the requestId finds the stack in the log",
}


def method_schema(handler: Method) -> dict[str, Any]:
    """A JSON schema of one method's input keys (by bare name)."""
    return {
        "title": handler.method,
        "description": handler.description,
        "type": "object",
        "properties": {
            name: {"type": "string", "description": info.description or ""}
            for name, info in handler.input.model_fields.items()
        },
        "required": [n for n, i in handler.input.model_fields.items() if i.is_required()],
    }


def envelope_schema(handler: Method) -> dict[str, Any]:
    """The envelope of one method: its name and the key names it reads."""
    names = sorted({n for _, names in handler.lookup_plan for n in names})
    return {
        "title": f"{handler.method} envelope",
        "type": "object",
        "required": ["method", "keys"],
        "properties": {
            "method": {"const": handler.method},
            "keys": {
                "type": "array",
                "maxItems": 200,
                "items": _KEY,
                "description": "input keys (any prefix, any case): " + ", ".join(names),
            },
        },
    }


def _json(schema: dict[str, Any], description: str = "JSON") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_PROBLEM = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "requestId": {"type": "string"},
            },
        }
    },
}
_PROBLEMS = {
    "401": "UNAUTHORIZED: a client's api_token is required as Bearer token",
    "404": "NOT_FOUND: nothing of this client has that id",
    "400": "BAD_PARAMETER: a query parameter is malformed (named in the message)",
    "409": "NOT_RETRYABLE: the delivery is neither dead nor disabled",
    "422": "INVALID_NUMBER / INVALID_BODY / INVALID_QUERY",
    "503": "STORAGE_UNAVAILABLE: the database cannot be reached",
}


def _param(name: str, where: str = "path", description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "string"},
    }


def _rest(summary: str, params: list[dict[str, Any]], ok: str, **extra: Any) -> dict[str, Any]:
    problems = {c: _json({"$ref": "#/components/schemas/Problem"}, t) for c, t in _PROBLEMS.items()}
    return {
        "summary": summary,
        "parameters": params,
        "security": [{"clientToken": []}],
        "responses": {"200": _json({"type": "object"}, ok), **problems},
        **extra,
    }


def _outbox_paths() -> dict[str, Any]:
    """The webhook outbox and the reports (SPEC 2.4, 2.5)."""
    q = "query"
    page = [
        _param("limit", q, "1-1000 (default 100)"),
        _param("cursor", q, "the nextCursor of the previous page"),
    ]
    listing = [
        _param("status", q, "pending | delivered | dead | disabled"),
        _param("event", q, "call_status | report"),
        *page,
    ]
    reports = [
        _param("from", q, "ISO 8601 instant, inclusive, on the creation time"),
        _param("to", q, "ISO 8601 instant, exclusive"),
        _param("cli", q, "the caller's number, any format (matched as E.164)"),
        *page,
        _param("format", q, "json (default) or csv (every matching report, streamed)"),
        _param("columns", q, "csv: key names to write, comma-separated (default: all)"),
    ]
    csv = {"text/csv": {"schema": {"type": "string"}}}
    report_answer = _rest("A client's call reports, oldest first", reports, "a page of reports")
    report_answer["responses"]["200"]["content"].update(csv)
    return {
        "/api/v1/deliveries": {
            "get": _rest("A client's webhook deliveries, newest first", listing, "a page"),
        },
        "/api/v1/deliveries/{delivery_id}/retry": {
            "post": _rest(
                "Re-queue a dead or disabled delivery for an attempt now",
                [_param("delivery_id", description="a delivery's id")],
                "re-queued",
            ),
        },
        "/api/v1/webhooks/{event}/enable": {
            "post": _rest(
                "Enable an endpoint a 410 disabled; its held deliveries are sent",
                [_param("event", description="call_status or report")],
                "enabled",
            ),
        },
        "/api/v1/reports": {"get": report_answer},
    }


def _link_paths() -> dict[str, Any]:
    """The short links (SPEC 2.8): the redirector, the seed's shorten API, a link's counts."""
    code = _param("code", description="the short code (base62, 7-16 characters)")
    string = {"type": "string"}
    shorten_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["custToken", "longUrl"],
                    "properties": {
                        "custToken": string,
                        "longUrl": {"type": "string", "maxLength": 2048},
                        "expireDays": {"type": ["integer", "string"]},
                    },
                }
            }
        },
    }
    problem = {"$ref": "#/components/schemas/Problem"}
    shorten_ok = {"type": "object", "required": ["shortUrl"], "properties": {"shortUrl": string}}
    return {
        "/s/{code}": {
            "get": {
                "summary": "Redirect to the long URL and count the click (HEAD: a bot click)",
                "parameters": [code],
                "responses": {
                    "302": {"description": "Location: the long URL"},
                    "404": _json(problem, "NOT_FOUND: no such link (or a malformed code)"),
                    "410": _json(problem, "EXPIRED: the link has expired"),
                },
            }
        },
        "/api/v1/shorten": {
            "post": {
                "summary": "Shorten a URL: the short-URL API of seeds/002 (custToken, not Bearer)",
                "requestBody": shorten_body,
                "responses": {
                    "200": _json(shorten_ok, "the short URL"),
                    "400": _json(problem, "BAD_REQUEST: longUrl or expireDays, named"),
                    "401": _json(problem, "UNAUTHORIZED: custToken is no client's"),
                    "408": _json(problem, "TIMEOUT: the body did not arrive in time"),
                    "422": _json(problem, "INVALID_BODY: a value holds a control character"),
                },
            }
        },
        "/api/v1/links/{code}": {
            "get": _rest("One of the client's links with its click counts", [code], "the link"),
        },
    }


def _api_paths() -> dict[str, Any]:
    """``/api/v1/*`` (a client's api_token) and ``/callbacks/{provider}`` (basic auth)."""
    cli = _param("cli", description="the agent's number, any format")
    req = _param("req_id", description="the obdReqID createOutbound answered")
    agent_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name", "did"],
                    "properties": {"name": {"type": "string"}, "did": {"type": "string"}},
                }
            }
        },
    }
    limit = _param("limit", "query", "events to return, 1-1000 (default 100)")
    provider_body = {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    callback_answers = {
        c: _json({"$ref": "#/components/schemas/Problem"}, t)
        for c, t in {
            "400": "MALFORMED: not this provider's status payload",
            "401": "UNAUTHORIZED: wrong or missing basic auth",
            "404": "UNKNOWN_PROVIDER / UNKNOWN_CALL",
            "503": "STORAGE_UNAVAILABLE: nothing was recorded; send it again",
        }.items()
    }
    return {
        "/api/v1/agents/{cli}": {
            "put": _rest("Register or rename an agent", [cli], "the agent", requestBody=agent_body),
            "get": _rest("An agent and its break status", [cli], "the agent"),
        },
        "/api/v1/agents/{cli}/history": {
            "get": _rest("An agent's break-status history", [cli, limit], "the events"),
        },
        "/api/v1/outbound/{req_id}": {
            "get": _rest("A createOutbound request, its calls, attempts, history", [req], "it"),
            "delete": _rest("Cancel the calls that have not started", [req], "what was cancelled"),
        },
        **_outbox_paths(),
        **_link_paths(),
        **traces_api.openapi_paths(),
        "/callbacks/{provider}": {
            "post": {
                "summary": "A provider's call-status notification (SPEC 2.3)",
                "parameters": [_param("provider", description="a [providers.NAME] of the config")],
                "security": [{"providerBasic": []}, {}],
                "requestBody": provider_body,
                "responses": {"200": _json({"type": "object"}, "recorded"), **callback_answers},
            }
        },
    }


def build(settings: Settings, registry: MethodRegistry) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/envelope.{h.method}"} for h in registry.values()]
    envelope_op: dict[str, Any] = {
        "summary": "Run one method of an IVR flow (one envelope schema per method)",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": refs}}},
        },
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Answer"}, "the handler ran"),
            **{
                code: _json({"$ref": "#/components/schemas/Answer"}, t)
                for code, t in _ERRORS.items()
            },
        },
    }
    if settings.server.token is not None:
        envelope_op["security"] = [{"serverToken": []}]
    paths: dict[str, Any] = {p: {"post": envelope_op} for p in ["/webhook", *settings.server.paths]}
    text = {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    paths.update(
        {
            "/methods": {
                "get": {"summary": "Every method with its keys", "responses": {"200": _json({})}}
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json({})}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json({})}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness: database reachable, workers alive",
                    "responses": {"200": _json({}), "503": _json({}, "not ready")},
                }
            },
            "/metrics": {"get": {"summary": "Prometheus text format", "responses": {"200": text}}},
            **_api_paths(),
        }
    )
    schemas: dict[str, Any] = {"Answer": _ANSWER, "Problem": _PROBLEM}
    schemas["Trace"] = traces_api.TRACE_SCHEMA
    schemas.update({f"method.{h.method}": method_schema(h) for h in registry.values()})
    schemas.update({f"envelope.{h.method}": envelope_schema(h) for h in registry.values()})
    return {
        "openapi": "3.1.0",
        "info": {"title": "flowhooks", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "serverToken": {"type": "http", "scheme": "bearer"},
                "clientToken": {"type": "http", "scheme": "bearer"},
                "providerBasic": {"type": "http", "scheme": "basic"},
            },
        },
    }
