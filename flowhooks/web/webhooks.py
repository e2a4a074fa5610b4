"""/api/v1/webhooks: endpoints a client manages itself (issue 25; seeds 001 and 003).

Create, list, read, change, delete, rotate the signing secret, send a test event. A
client sees and changes only its own; another client's id is a 404. The secret is in
the answers of create and rotate only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import CLIENT, client_api, json_body, problem
from flowhooks.webhooks import endpoints as rules
from flowhooks.webhooks import templates
from flowhooks.webhooks.service import Endpoints


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def view(row: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the API shows it: never a secret or a password."""
    grace = row["old_secret_until"]
    return {
        "webhookId": row["id"],
        "url": templates.masked(row["url"]),
        "events": list(row["events"]),
        "description": row["description"],
        "enabled": bool(row["enabled"]),
        "disabledReason": row["disabled_reason"],
        "basicAuth": (
            {"username": row["username"], "password": "***"} if row["username"] else None
        ),
        "headers": rules.shown_headers(row["headers"] or {}),
        "body": row["body"],
        "previousSecretValidUntil": _iso(grace) if row["old_secret_sealed"] else None,
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
    }


def _endpoints(request: web.Request) -> Endpoints:
    return request.app[appkeys.ENDPOINTS]


def _not_found() -> web.Response:
    return problem(404, "NOT_FOUND", "no such webhook for this client")


async def _body(request: web.Request) -> dict[str, Any]:
    """An optional body (rotate, test): none is ``{}``."""
    return await json_body(request) if request.can_read_body else {}


# A field that is wrong (FieldProblem: 422 naming it), a client at its limit (TooMany:
# 409) and no [security] secret_key (VaultUnavailable: 503) are answered by the edge.


@client_api
async def create_webhook(request: web.Request) -> web.Response:
    row, secret = await _endpoints(request).create(request[CLIENT], await json_body(request))
    return web.json_response({**view(row), "secret": secret}, status=201)


@client_api
async def list_webhooks(request: web.Request) -> web.Response:
    rows = await _endpoints(request).listing(request[CLIENT])
    return web.json_response({"webhooks": [view(r) for r in rows]})


@client_api
async def get_webhook(request: web.Request) -> web.Response:
    endpoints, client = _endpoints(request), request[CLIENT]
    row = await endpoints.get(client, request.match_info["webhookId"])
    if row is None:
        return _not_found()
    stats = await endpoints.stats(client, row["id"])
    return web.json_response(
        {
            **view(row),
            "last24h": stats["counts"],
            "lastSuccessAt": _iso(stats["last_success_at"]),
            "lastFailureAt": _iso(stats["last_failure_at"]),
        }
    )


@client_api
async def patch_webhook(request: web.Request) -> web.Response:
    body = await json_body(request)
    row = await _endpoints(request).change(request[CLIENT], request.match_info["webhookId"], body)
    return _not_found() if row is None else web.json_response(view(row))


@client_api
async def delete_webhook(request: web.Request) -> web.Response:
    gone = await _endpoints(request).delete(request[CLIENT], request.match_info["webhookId"])
    return web.Response(status=204) if gone else _not_found()


@client_api
async def rotate_secret(request: web.Request) -> web.Response:
    body = await _body(request)
    rotated = await _endpoints(request).rotate(
        request[CLIENT], request.match_info["webhookId"], body
    )
    if rotated is None:
        return _not_found()
    row, secret = rotated
    return web.json_response({**view(row), "secret": secret})


@client_api
async def test_webhook(request: web.Request) -> web.Response:
    body = await _body(request)
    sent = await _endpoints(request).send_test(
        request[CLIENT], request.match_info["webhookId"], body
    )
    if sent is None:
        return _not_found()
    request.app[appkeys.OUTBOUND].wake_deliveries()
    return web.json_response(
        {"deliveryId": sent.id, "eventId": sent.event_id, "event": sent.event, "test": True},
        status=202,
    )


ROUTES = [
    ("POST", "/api/v1/webhooks", create_webhook),
    ("GET", "/api/v1/webhooks", list_webhooks),
    ("GET", "/api/v1/webhooks/{webhookId}", get_webhook),
    ("PATCH", "/api/v1/webhooks/{webhookId}", patch_webhook),
    ("DELETE", "/api/v1/webhooks/{webhookId}", delete_webhook),
    ("POST", "/api/v1/webhooks/{webhookId}/secret/rotate", rotate_secret),
    ("POST", "/api/v1/webhooks/{webhookId}/test", test_webhook),
]
