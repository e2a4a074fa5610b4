"""The OpenAPI 3.1 document of every HTTP route, with the per-method key schemas."""

from __future__ import annotations

from typing import Any

from flowhooks import __version__
from flowhooks.console import openapi as console_openapi
from flowhooks.method import Method
from flowhooks.methods.registry import MethodRegistry
from flowhooks.settings import Settings

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
    "400": "BAD_ENVELOPE: not JSON or the wrong shape; BAD_REQUEST: a body that does not"
    " decode as its Content-Encoding",
    "401": "UNAUTHORIZED: missing or wrong bearer token",
    "404": "UNKNOWN_METHOD: the message lists the known methods",
    "413": "TOO_LARGE: body over max_body_bytes",
    "415": "UNSUPPORTED_MEDIA_TYPE: not application/json, or a Content-Encoding other than"
    " gzip, deflate or identity",
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


_STR: dict[str, Any] = {"type": "string"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_MAYBE_STR: dict[str, Any] = {"type": ["string", "null"]}
_MAYBE_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_INT: dict[str, Any] = {"type": "integer"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these keys (every /api/v1 key is camelCase)."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _page(name: str, item: str) -> dict[str, Any]:
    return _object({name: _array(_ref(item)), "nextCursor": _MAYBE_STR})


# the answers of /api/v1 and /callbacks, by component name
REST_SCHEMAS: dict[str, Any] = {
    "Problem": _object(
        {"error": _object({"code": _STR, "message": _STR}, {"requestId": _STR, "parameter": _STR})}
    ),
    "Agent": _object(
        {
            "cli": _STR,
            "name": _STR,
            "did": _STR,
            "paused": {"type": "boolean"},
            "lastAllottedAt": _MAYBE_TIME,
            "source": {"enum": ["config", "api"]},
            "updatedAt": _MAYBE_TIME,
        }
    ),
    "AgentEvent": _object(
        {"action": _STR, "paused": {"type": "boolean"}, "at": _TIME, "requestId": _STR},
        {"detail": {"type": "object"}},
    ),
    "AgentHistory": _object({"cli": _STR, "events": _array(_ref("AgentEvent"))}),
    "Attempt": _object(
        {
            "attempt": _INT,
            "providerCallId": _MAYBE_STR,
            "startedAt": _TIME,
            "endedAt": _MAYBE_TIME,
            "outcome": _MAYBE_STR,
            "endCallReason": _MAYBE_STR,
            "duration": {"type": ["integer", "null"]},
            "recordingUrl": _MAYBE_STR,
        }
    ),
    "StateChange": _object(
        {
            "attempt": _INT,
            "kind": {"enum": ["state", "callback", "dial_error", "cancel"]},
            "fromState": _MAYBE_STR,
            "toState": _MAYBE_STR,
            "source": _STR,
            "detail": _MAYBE_STR,
            "raw": {"description": "a provider's payload, as received (its own keys)"},
            "at": _TIME,
        }
    ),
    "Call": _object(
        {
            "id": _STR,
            "number": _STR,
            "state": _STR,
            "maxAttempts": _INT,
            "dueAt": _TIME,
            "providerCallId": _MAYBE_STR,
            "endCallReason": _MAYBE_STR,
            "lastError": _MAYBE_STR,
            "attempts": _array(_ref("Attempt")),
            "history": _array(_ref("StateChange")),
        }
    ),
    "OutboundRequest": _object(
        {
            "obdReqID": _STR,
            "clientID": _STR,
            "flowID": _STR,
            "delayMinutes": _INT,
            "createdAt": _TIME,
            "answer": {"type": "object", "description": "createOutbound's output keys"},
            "calls": _array(_ref("Call")),
        }
    ),
    "Cancelled": _object({"cancelled": _array(_STR), "notCancelled": _array(_STR)}),
    "Delivery": _object(
        {
            "id": _STR,
            "event": _STR,
            "eventId": _STR,
            "url": _STR,
            "state": {"enum": ["pending", "delivered", "dead", "disabled"]},
            "attempts": _INT,
            "lastStatus": {"type": ["integer", "null"]},
            "lastError": _MAYBE_STR,
            "nextAttemptAt": _MAYBE_TIME,
            "createdAt": _TIME,
            "deliveredAt": _MAYBE_TIME,
        }
    ),
    "DeliveryPage": _page("deliveries", "Delivery"),
    "Retried": _object({"id": _STR, "state": {"const": "pending"}, "was": _STR}),
    "Enabled": _object({"event": _STR, "enabled": {"const": True}, "requeued": _INT}),
    "Report": _object(
        {
            "reportId": _STR,
            "createdAt": _TIME,
            "keys": {
                "type": "object",
                "additionalProperties": _STR,
                "description": "every key the flow sent, by its bare name",
            },
        }
    ),
    "ReportPage": _page("reports", "Report"),
    "Link": _object(
        {
            "code": _STR,
            "shortUrl": _STR,
            "longUrl": _STR,
            "clicks": _INT,
            "botClicks": _INT,
            "lastClickAt": _MAYBE_TIME,
            "createdAt": _TIME,
            "expiresAt": _MAYBE_TIME,
        }
    ),
    "Shortened": _object({"shortUrl": _STR}),
    "CallbackRecorded": _object(
        {"status": {"const": "ok"}, "callId": _STR},
        {"state": _STR, "duplicate": {"const": True}},
    ),
}
# -- flow traces (issue 26) and webhooks by API (issue 25) -------------------------

_TRACE_KEYS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {
            "name": {"type": "string"},
            "value": {"type": ["string", "number", "boolean", "null"]},
        },
    },
}
_TRACE = {
    "type": "object",
    "required": [
        "requestId", "at", "method", "httpStatus", "status", "errorCode", "latencyMs",
        "cli", "callKey", "cut", "request", "answer",
    ],
    "properties": {
        "requestId": {"type": "string"},
        "at": {"type": "string", "format": "date-time", "description": "now as the method saw it"},
        "method": {"type": "string"},
        "httpStatus": {"type": "integer"},
        "status": {"type": "string", "description": "SUCCESS or FAILED"},
        "errorCode": {"type": "string"},
        "latencyMs": {"type": "number"},
        "cli": {"type": "string", "description": "the caller's number, E.164, or empty"},
        "callKey": {"type": "string", "description": "the first [traces] call_keys sent"},
        "cut": {"type": "boolean", "description": "a value was cut at max_value_chars"},
        "request": {
            "type": ["object", "null"],
            "description": "the envelope as sent, secrets \"***\"; null: not an envelope",
            "properties": {"method": {"type": "string"}, "keys": _TRACE_KEYS},
        },
        "answer": {"type": "object", "required": ["keys"], "properties": {"keys": _TRACE_KEYS}},
    },
}  # fmt: skip
_WEBHOOK_FIELDS: dict[str, Any] = {
    "url": _STR,
    "events": _array({"enum": ["call_status", "report"]}),
    "description": _STR,
    "enabled": {"type": "boolean"},
    "basicAuth": {
        "type": ["object", "null"],
        "required": ["username", "password"],
        "properties": {"username": _STR, "password": _STR},
    },
    "headers": {"type": "object", "additionalProperties": _STR},
    "body": _MAYBE_STR,
}
_WEBHOOK = _object(
    {
        "webhookId": _STR,
        **_WEBHOOK_FIELDS,
        "disabledReason": _MAYBE_STR,
        "previousSecretValidUntil": _MAYBE_TIME,
        "createdAt": _TIME,
        "updatedAt": _TIME,
    },
    {
        "secret": {"type": "string", "description": "whsec_...; only from create and rotate"},
        "last24h": _object(
            {k: _INT for k in ("delivered", "failed", "pending", "dead", "disabled")}
        ),
        "lastSuccessAt": _MAYBE_TIME,
        "lastFailureAt": _MAYBE_TIME,
    },
)
_WEBHOOK["properties"]["basicAuth"] = {
    "type": ["object", "null"],
    "description": 'the password is never shown ("***")',
}
REST_SCHEMAS |= {
    "Trace": _TRACE,
    "TracePage": _page("traces", "Trace"),
    "Webhook": _WEBHOOK,
    "WebhookList": _object({"webhooks": _array(_ref("Webhook"))}),
    "TestSent": _object(
        {"deliveryId": _STR, "eventId": _STR, "event": _STR, "test": {"const": True}}
    ),
}

# the answers of the discovery and operations routes (web/meta.py)
_METHOD_INPUT = _object(
    {"name": _STR, "required": {"type": "boolean"}, "description": _STR}, {"example": {}}
)
_METHOD = _object(
    {
        "method": _STR,
        "description": _STR,
        "inputs": _array(_METHOD_INPUT),
        "outputs": _array(_object({"name": _STR, "description": _STR})),
    }
)
META_SCHEMAS: dict[str, Any] = {
    "Methods": _object({"methods": _array(_METHOD)}),
    "OpenApiDocument": _object(
        {"openapi": {"const": "3.1.0"}, "info": {"type": "object"}, "paths": {"type": "object"}}
    ),
    "Health": _object({"status": {"const": "ok"}}),
    "Readiness": _object(
        {
            "status": {"enum": ["ready", "not ready"]},
            "checks": {
                "type": "object",
                "description": "each dependency (calendars, database, dispatcher, ...)",
                "additionalProperties": _object({"ok": {"type": "boolean"}}),
            },
        }
    ),
}
_PROBLEMS = {
    "401": "UNAUTHORIZED: a client's api_token is required as Bearer token",
    "404": "NOT_FOUND: nothing of this client has that id",
    "400": "BAD_PARAMETER: a query parameter is malformed (named in `parameter`)",
    "409": "NOT_RETRYABLE: the delivery is neither dead nor disabled",
    "422": "INVALID_NUMBER / INVALID_BODY",
    "503": "STORAGE_UNAVAILABLE: the database cannot be reached",
}
# a route that reads a body may also answer these (web/edge.py read_body)
_BODY_PROBLEMS = {
    "400": "BAD_REQUEST: not JSON, or a body its Content-Encoding does not decode",
    "408": "TIMEOUT: the body did not arrive within body_timeout_seconds",
    "413": "TOO_LARGE: body over max_body_bytes",
    "415": "UNSUPPORTED_MEDIA_TYPE: a Content-Encoding other than gzip, deflate or identity",
}


def _param(
    name: str, where: str = "path", description: str = "", schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or _STR,
    }


def _problems(texts: dict[str, str]) -> dict[str, Any]:
    return {code: _json(_ref("Problem"), text) for code, text in sorted(texts.items())}


def _rest(
    summary: str, params: list[dict[str, Any]], ok: str, schema: str, **extra: Any
) -> dict[str, Any]:
    """An /api/v1 operation: 200 with ``schema``, its problems in the Problem shape."""
    problems = dict(_PROBLEMS)
    if "requestBody" in extra:
        problems |= _BODY_PROBLEMS | {"400": f"{_PROBLEMS['400']}; {_BODY_PROBLEMS['400']}"}
    return {
        "summary": summary,
        "parameters": params,
        "security": [{"clientToken": []}],
        "responses": {"200": _json(_ref(schema), ok), **_problems(problems)},
        **extra,
    }


# the query parameters of web/params.py
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}
_CURSOR = {"type": "string", "pattern": "^[0-9]{1,19}$"}
_WHEN = "ISO 8601 with an offset, years 1971-8999 (as X-Flowhooks-Now)"


def _outbox_paths() -> dict[str, Any]:
    """The webhook outbox and the reports (SPEC 2.4, 2.5)."""
    q = "query"
    page = [
        _param("limit", q, "1-1000 (default 100)", _LIMIT),
        _param("cursor", q, "the nextCursor of the previous page", _CURSOR),
    ]
    listing = [
        _param("status", q, "pending | delivered | dead | disabled",
               {"enum": ["pending", "delivered", "dead", "disabled"]}),
        _param("event", q, "call_status | report", {"enum": ["call_status", "report"]}),
        *page,
    ]  # fmt: skip
    reports = [
        _param("from", q, f"inclusive, on the creation time; {_WHEN}", _TIME),
        _param("to", q, f"exclusive; {_WHEN}", _TIME),
        _param("cli", q, "the caller's number, any format (matched as E.164)"),
        *page,
        _param("format", q, "json (default) or csv (every matching report, streamed)",
               {"enum": ["json", "csv"]}),
        _param("columns", q, "csv: key names to write, comma-separated (default: all)"),
    ]  # fmt: skip
    report_answer = _rest(
        "A client's call reports, oldest first", reports, "a page of reports", "ReportPage"
    )
    report_answer["responses"]["200"]["content"]["text/csv"] = {"schema": _STR}
    return {
        "/api/v1/deliveries": {
            "get": _rest(
                "A client's webhook deliveries, newest first", listing, "a page", "DeliveryPage"
            ),
        },
        "/api/v1/deliveries/{delivery_id}/retry": {
            "post": _rest(
                "Re-queue a dead or disabled delivery for an attempt now",
                [_param("delivery_id", description="a delivery's id")],
                "re-queued",
                "Retried",
            ),
        },
        "/api/v1/webhooks/{event}/enable": {
            "post": _rest(
                "Enable an endpoint a 410 disabled; its held deliveries are sent",
                [_param("event", description="call_status or report")],
                "enabled",
                "Enabled",
            ),
        },
        "/api/v1/reports": {"get": report_answer},
    }


def _traces_paths() -> dict[str, Any]:
    """Flow traces (issue 26): search, one, the replay export."""
    q = "query"
    filters = [
        _param("cli", q, "the caller's number, any format (matched as E.164)"),
        _param("method", q, "a method name, any case"),
        _param("status", q, "SUCCESS or FAILED"),
        _param("errorCode", q, "an errorCode, e.g. NO_VALID_SLOT"),
        _param("callKey", q, "a call's key ([traces] call_keys)"),
        _param("from", q, f"inclusive; {_WHEN}", _TIME),
        _param("to", q, f"exclusive; {_WHEN}", _TIME),
    ]
    paging = [
        _param("limit", q, "1-1000 (default 100)", _LIMIT),
        _param("cursor", q, "the nextCursor of the previous page"),
    ]
    export = [
        *filters,
        _param("limit", q, "at most this many traces, 1-1000000 (default: all)"),
        _param("format", q, "replay (the only one)", {"enum": ["replay"]}),
    ]
    exported = _rest("A client's traces as JSONL replay cases (SPEC 5), oldest first", export,
                     "replay cases", "Trace")  # fmt: skip
    exported["responses"]["200"] = {
        "description": "one SPEC 5 replay case (JSON) a line",
        "content": {"application/x-ndjson": {"schema": _STR}},
    }
    return {
        "/api/v1/traces": {
            "get": _rest(
                "A client's flow traces, newest first",
                [*filters, *paging],
                "a page of traces",
                "TracePage",
            ),
        },
        "/api/v1/traces/export": {"get": exported},
        "/api/v1/traces/{requestId}": {
            "get": _rest(
                "One trace (the newest of that requestId)",
                [_param("requestId", description="the requestId of the answer")],
                "the trace",
                "Trace",
            ),
        },
    }


def _webhooks_paths() -> dict[str, Any]:
    """Endpoints customers manage (issue 25; seeds 001, 003)."""
    hook = [_param("webhookId", description="whk_... as create answered it")]
    fields = {"type": "object", "properties": _WEBHOOK_FIELDS}
    create_body = {"type": "object", "required": ["url"],
                   "properties": {**_WEBHOOK_FIELDS, "secret": _STR}}  # fmt: skip
    rotate_body = {"type": "object", "properties": {"gracePeriodSeconds": {
        "type": "integer", "minimum": 0, "maximum": 604800}}}  # fmt: skip
    test_body = {"type": "object", "properties": {"event": {"enum": ["call_status", "report"]}}}

    def body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": schema}}}

    def op(summary: str, params: list[Any], ok: str, schema: str, status: str = "200",
           **extra: Any) -> dict[str, Any]:  # fmt: skip
        found = _rest(summary, params, ok, schema, **extra)
        found["responses"]["422"] = _json(_ref("Problem"), "INVALID_BODY: names the field")
        found["responses"]["409"] = _json(_ref("Problem"), "LIMIT_REACHED")
        found["responses"]["503"] = _json(
            _ref("Problem"), "SECRET_KEY_MISSING or STORAGE_UNAVAILABLE"
        )
        if status != "200":
            found["responses"][status] = found["responses"].pop("200")
        return found

    deleted = op("Delete a webhook: nothing more is sent to it", hook, "deleted", "Problem")
    deleted["responses"]["204"] = {"description": "deleted"}
    del deleted["responses"]["200"]
    return {
        "/api/v1/webhooks": {
            "post": op(
                "Create a webhook (the secret is answered once)",
                [],
                "created",
                "Webhook",
                "201",
                requestBody=body(create_body),
            ),
            "get": op("The client's webhooks (never a secret)", [], "the list", "WebhookList"),
        },
        "/api/v1/webhooks/{webhookId}": {
            "get": op("One webhook, with its last 24 hours", hook, "the webhook", "Webhook"),
            "patch": op(
                "Change the fields named; enabled=true re-enables after a 410",
                hook,
                "changed",
                "Webhook",
                requestBody=body(fields),
            ),
            "delete": deleted,
        },
        "/api/v1/webhooks/{webhookId}/secret/rotate": {
            "post": op(
                "A new secret; the old one also signs for gracePeriodSeconds",
                hook,
                "the new secret",
                "Webhook",
                requestBody=body(rotate_body, False),
            ),
        },
        "/api/v1/webhooks/{webhookId}/test": {
            "post": op(
                "Queue a sample event (marked test) through the outbox",
                hook,
                "queued",
                "TestSent",
                "202",
                requestBody=body(test_body, False),
            ),
        },
    }


def _link_paths() -> dict[str, Any]:
    """The short links (SPEC 2.8): the redirector, the seed's shorten API, a link's counts."""
    code = _param("code", description="the short code (base62, 7-16 characters)")
    shorten_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["custToken", "longUrl"],
                    "properties": {
                        "custToken": _STR,
                        "longUrl": {"type": "string", "maxLength": 2048},
                        "expireDays": {"type": ["integer", "string"]},
                    },
                }
            }
        },
    }
    problem = _ref("Problem")
    shorten_problems = {
        **_BODY_PROBLEMS,
        "400": f"BAD_REQUEST: longUrl or expireDays, named; {_BODY_PROBLEMS['400']}",
        "401": "UNAUTHORIZED: custToken is no client's",
        "422": "INVALID_BODY: a value holds a control character",
        "503": "STORAGE_UNAVAILABLE: the database cannot be reached",
    }
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
                    "200": _json(_ref("Shortened"), "the short URL"),
                    **_problems(shorten_problems),
                },
            }
        },
        "/api/v1/links/{code}": {
            "get": _rest(
                "One of the client's links with its click counts", [code], "the link", "Link"
            ),
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
                    "properties": {"name": _STR, "did": _STR},
                }
            }
        },
    }
    limit = _param("limit", "query", "events to return, 1-1000 (default 100)", _LIMIT)
    provider_body = {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    callback_problems = {
        **_BODY_PROBLEMS,
        "400": f"MALFORMED: not this provider's status payload; {_BODY_PROBLEMS['400']}",
        "401": "UNAUTHORIZED: wrong or missing basic auth",
        "404": "UNKNOWN_PROVIDER / UNKNOWN_CALL",
        "503": "STORAGE_UNAVAILABLE: nothing was recorded; send it again",
    }
    return {
        "/api/v1/agents/{cli}": {
            "put": _rest(
                "Register or rename an agent", [cli], "the agent", "Agent", requestBody=agent_body
            ),
            "get": _rest("An agent and its break status", [cli], "the agent", "Agent"),
        },
        "/api/v1/agents/{cli}/history": {
            "get": _rest(
                "An agent's break-status history, newest first",
                [cli, limit],
                "the events",
                "AgentHistory",
            ),
        },
        "/api/v1/outbound/{req_id}": {
            "get": _rest(
                "A createOutbound request, its calls, attempts, history",
                [req],
                "it",
                "OutboundRequest",
            ),
            "delete": _rest(
                "Cancel the calls that have not started", [req], "what was cancelled", "Cancelled"
            ),
        },
        **_outbox_paths(),
        **_link_paths(),
        **_traces_paths(),
        **_webhooks_paths(),
        "/callbacks/{provider}": {
            "post": {
                "summary": "A provider's call-status notification (SPEC 2.3)",
                "parameters": [_param("provider", description="a [providers.NAME] of the config")],
                "security": [{"providerBasic": []}, {}],
                "requestBody": provider_body,
                "responses": {
                    "200": _json(_ref("CallbackRecorded"), "recorded"),
                    **_problems(callback_problems),
                },
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
                "get": {
                    "summary": "Every method with its keys",
                    "responses": {"200": _json(_ref("Methods"))},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json(_ref("OpenApiDocument"))},
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": _json(_ref("Health"))}}
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: database reachable, workers alive",
                    "responses": {
                        "200": _json(_ref("Readiness"), "ready"),
                        "503": _json(_ref("Readiness"), "not ready: a check says why"),
                    },
                }
            },
            "/metrics": {"get": {"summary": "Prometheus text format", "responses": {"200": text}}},
            **_api_paths(),
        }
    )
    if settings.console.enabled:
        paths.update(console_openapi.paths())
    schemas: dict[str, Any] = {"Answer": _ANSWER, **REST_SCHEMAS, **META_SCHEMAS}
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
