"""The OpenAPI 3.1 document of every HTTP route, with the per-method key schemas."""

from __future__ import annotations

from typing import Any

from flowhooks import __version__
from flowhooks.dispatch.registry import MethodRegistry
from flowhooks.method import Method
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
    "400": "BAD_ENVELOPE: not JSON or the wrong shape",
    "401": "UNAUTHORIZED: missing or wrong bearer token",
    "404": "UNKNOWN_METHOD: the message lists the known methods",
    "413": "TOO_LARGE: body over max_body_bytes",
    "415": "UNSUPPORTED_MEDIA_TYPE: not application/json",
    "422": "INVALID_KEYS: details name each missing or malformed key",
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


def _json(schema: dict[str, Any], description: str = "JSON") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build(settings: Settings, registry: MethodRegistry) -> dict[str, Any]:
    envelope_op = {
        "summary": "Run one method of an IVR flow",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["method", "keys"],
                        "properties": {
                            "method": {"enum": registry.names()},
                            "keys": {"type": "array", "maxItems": 200, "items": _KEY},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Answer"}, "the handler ran"),
            **{
                code: _json({"$ref": "#/components/schemas/Answer"}, t)
                for code, t in _ERRORS.items()
            },
        },
    }
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
        }
    )
    schemas: dict[str, Any] = {"Answer": _ANSWER}
    schemas.update({f"method.{h.method}": method_schema(h) for h in registry.values()})
    return {
        "openapi": "3.1.0",
        "info": {"title": "flowhooks", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }
