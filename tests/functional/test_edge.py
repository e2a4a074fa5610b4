"""The web edge: every route is in the OpenAPI document (checked by a real OpenAPI
validator), and the observation wrapper is the one place an exception becomes an answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from openapi_spec_validator import validate

from flowhooks.errors import StorageUnavailable
from flowhooks.logs import AccessLog
from flowhooks.metrics import Metrics
from flowhooks.phones import NumberRefused
from flowhooks.web.edge import Observer
from tests.conftest import ClientFactory, settings_from


async def test_openapi_documents_every_route_and_is_valid(make_client: ClientFactory) -> None:
    client = await make_client(settings_from('[server]\npaths = ["/ivr/hook"]'))
    doc = await (await client.get("/openapi.json")).json()
    validate(doc)  # OpenAPI 3.1, by openapi-spec-validator
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in client.app.router.routes()
        if r.resource is not None and r.method != "*" and r.method != "HEAD"
    }
    documented = {(m, path) for path, ops in doc["paths"].items() for m in ops}
    assert routes - documented == set()
    assert {"/webhook", "/ivr/hook", "/api/v1/outbound/{req_id}", "/callbacks/{provider}"} <= set(
        doc["paths"]
    )
    one_of = doc["paths"]["/webhook"]["post"]["requestBody"]["content"]["application/json"]
    methods = {ref["$ref"].rsplit(".", 1)[1] for ref in one_of["schema"]["oneOf"]}
    assert {"validateDateTime", "createOutbound", "fetchUserPreferences"} <= methods


async def test_the_edge_turns_domain_errors_into_answers(aiohttp_client: Any) -> None:
    observer = Observer(AccessLog(enabled=False), Metrics())

    async def down(request: web.Request) -> web.Response:
        raise StorageUnavailable("database unavailable: refused")

    async def bad_number(request: web.Request) -> web.Response:
        raise NumberRefused("invalid", "'12' is not a phone number")

    async def bug(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application()
    for path, route in (("/down", down), ("/number", bad_number), ("/bug", bug)):
        app.router.add_get(path, observer.wrap(route))
    client = await aiohttp_client(app)
    resp = await client.get("/down", headers={"X-Request-Id": "r-1"})
    body = await resp.json()
    assert resp.status == 503 and body["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert body["error"]["requestId"] == "r-1"
    resp = await client.get("/number")
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "INVALID_NUMBER"
    resp = await client.get("/bug")
    text = await resp.text()
    assert resp.status == 500 and "secret detail" not in text and "Traceback" not in text
