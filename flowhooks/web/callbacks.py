"""POST /callbacks/{provider}: a provider's call-status notification (SPEC 2.3)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
from aiohttp import web

from flowhooks.integrations.providers import PROVIDERS, MalformedCallback
from flowhooks.outbound.model import Status
from flowhooks.settings import ProviderSettings
from flowhooks.storage import outbound as store
from flowhooks.web import keys as appkeys
from flowhooks.web.client_api import body_bytes, problem

MAX_REASON_CHARS = 64  # calls.end_call_reason: a longer reason is cut, the status kept


def _authorized(conf: ProviderSettings, header: str) -> bool:
    if conf.username is None:
        return True
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    expected = conf.password.get_secret_value() if conf.password else ""
    user_ok = hmac.compare_digest(user.encode(), conf.username.encode())
    password_ok = hmac.compare_digest(password.encode(), expected.encode())
    return scheme.lower() == "basic" and user_ok and password_ok


async def provider_callback(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    conf = request.app[appkeys.SETTINGS].providers.get(name)
    if conf is None:
        return problem(404, "UNKNOWN_PROVIDER", "no such provider is configured")
    if not _authorized(conf, request.headers.get("Authorization", "")):
        resp = problem(401, "UNAUTHORIZED", "wrong or missing basic auth")
        resp.headers["WWW-Authenticate"] = 'Basic realm="flowhooks callbacks"'
        return resp
    raw = await body_bytes(request)
    try:
        doc = orjson.loads(raw)
        provider = PROVIDERS.get(conf.format)
        parsed = provider.parse(doc)
    except (orjson.JSONDecodeError, MalformedCallback) as exc:
        return problem(400, "MALFORMED", f"not a {conf.format} status: {exc}")
    outbound = request.app[appkeys.OUTBOUND]
    found = await store.find_call(outbound.db, parsed.ids)
    if found is None:
        return problem(404, "UNKNOWN_CALL", "no call has that id")
    call_id, attempt = found
    digest = hashlib.sha256(raw).hexdigest()
    if await store.seen_payload(outbound.db, call_id, digest):
        return web.json_response({"status": "ok", "callId": call_id, "duplicate": True})
    status = Status(
        state=provider.state_of(parsed.status),
        word=parsed.status,
        source=f"provider:{name}",
        attempt=attempt,
        end_call_reason=(parsed.end_call_reason or "")[:MAX_REASON_CHARS] or None,
        duration=parsed.duration,
        recording_url=parsed.recording_url,
        raw=doc,
        payload_hash=digest,
    )
    now = request.app[appkeys.CLOCK].now()
    call = await outbound.apply_provider_status(call_id, status, now)
    assert call is not None
    return web.json_response({"status": "ok", "callId": call_id, "state": call.state})


ROUTES = [("POST", "/callbacks/{provider}", provider_callback)]
