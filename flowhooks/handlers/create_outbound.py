"""Schedules outbound calls to one or more numbers, once, however often it is retried (SPEC 2.2)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field

from flowhooks import phones
from flowhooks.cooperative import turns
from flowhooks.errors import HandlerFailed, InvalidKeys, KeyProblem
from flowhooks.method import Context, Keys
from flowhooks.outbound.model import NewCall, NewRequest
from flowhooks.outbound.retry import due_in_calendar
from flowhooks.settings import ClientSettings
from flowhooks.webhooks.endpoints import FieldProblem

METHOD = "createOutbound"
ERROR_KEYS = {"obdResponseCode": "400"}  # a 422 also tells legacy flows "bad input"
RATE_LIMITED_KEYS = {"obdResponseCode": "429"}  # the envelope's 429 tells legacy flows too
API_VERSIONS = ("1.0",)
MAX_NUMBERS = 1000
MAX_DELAY_MINUTES = 10080
KEY_TTL = timedelta(hours=24)
_NOT_A_SECRET = b"\0" * 64  # compared against when the client is unknown: same timing


class Input(Keys):
    apiVersion: str = Field(description="the API version, 1.0", examples=["1.0"])
    securityID: str = Field(
        max_length=256, description="the client's secret (64 characters); never logged"
    )
    flowID: str = Field(
        max_length=64,
        description="the outbound flow (one of the client's flows)",
        examples=["ab12cd34"],
    )
    clientID: str = Field(max_length=64, description="the client", examples=["acme"])
    contactNumbers: str = Field(
        description="numbers separated by , ; | or new lines", examples=["91997974 6666"]
    )
    delayMinutes: str = Field(
        "0", max_length=16, description="minutes from now, 0-10080 (ASCII digits)", examples=["0"]
    )
    idempotencyKey: str | None = Field(
        None, max_length=200, description="the same key never schedules twice; 1-200 chars"
    )
    email: str = Field("", max_length=254, description="passed to the dialer; ≤ 254 chars")
    referenceId: str = Field("", max_length=200, description="passed to the dialer; ≤ 200 chars")
    webhookId: str | None = Field(
        None,
        max_length=40,
        description="send this request's call_status events to this webhook (made with"
        " POST /api/v1/webhooks) instead of the client's endpoints",
        examples=["whk_3mJq9cT2"],
    )
    webhookUrl: str | None = Field(
        None,
        max_length=2048,
        description="or to this one-off URL (signed with the client's webhook_secret)",
        examples=["https://crm.example.com/calls"],
    )


class Output(Keys):
    obdResponseCode: str = Field(description="200, 400, 401, 404, 409 or 429")
    obdReqID: str = Field(description="the request id")
    obdPhononUUID: str = Field(description="each accepted number's call id, in input order")
    obdScheduledAt: str = Field(description="ISO due time of the first call")
    obdRejectedNumbers: str = Field(description="number:reason, comma-separated")


def _refuse(code: int, error: str, message: str, rejected: str = "") -> HandlerFailed:
    keys = {"obdResponseCode": str(code), "obdReqID": "", "obdPhononUUID": "", "obdScheduledAt": ""}
    return HandlerFailed(error, message, {**keys, "obdRejectedNumbers": rejected})


def _authenticate(ctx: Context, client_id: str, secret: str) -> ClientSettings:
    client = ctx.clients.get(client_id)
    expected = (
        client.security_id.get_secret_value().encode() if client and client.security_id else None
    )
    ok = hmac.compare_digest(secret.encode(), expected or _NOT_A_SECRET)
    if client is None or expected is None or not ok:
        raise _refuse(401, "UNAUTHORIZED", "unknown client or wrong securityID")
    return client


def _delay(text: str) -> int:
    digits = text.strip()  # ASCII digits only: int() would take "1_000", "+5", "\u0665"
    delay = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not 0 <= delay <= MAX_DELAY_MINUTES:
        raise InvalidKeys(
            [KeyProblem("delayMinutes", f"must be a whole number 0-{MAX_DELAY_MINUTES}")]
        )
    return delay


async def _numbers(client: ClientSettings, text: str) -> tuple[list[str], list[str]]:
    """(accepted E.164 numbers, ``number:reason`` refusals), in input order, no repeats."""
    given = phones.split_numbers(text)
    if not given:
        raise InvalidKeys([KeyProblem("contactNumbers", "no number given")])
    if len(given) > MAX_NUMBERS:
        raise InvalidKeys([KeyProblem("contactNumbers", f"more than {MAX_NUMBERS} numbers")])
    policy = phones.NumberPolicy.build(
        client.default_region, client.regions, client.blocked_number_types
    )
    accepted: list[str] = []
    rejected: list[str] = []
    async for raw in turns(given):  # 744 numbers are ~30 ms of parsing: others get turns
        shown = "".join(raw.split())
        try:
            number = policy.check(raw)
        except phones.NumberRefused as exc:
            rejected.append(f"{shown}:{exc.reason}")
            continue
        if number in accepted:
            rejected.append(f"{shown}:duplicate")  # one number never rings twice for a request
        else:
            accepted.append(number)
    return accepted, rejected


async def _webhook(ctx: Context, client: str, keys: Input) -> tuple[str | None, str | None]:
    """(webhookId, webhookUrl) of the request, checked; a 422 naming the key if not."""
    webhook_id = (keys.webhookId or "").strip() or None
    webhook_url = (keys.webhookUrl or "").strip() or None
    if webhook_id and webhook_url:
        raise InvalidKeys([KeyProblem("webhookUrl", "give webhookId or webhookUrl, not both")])
    endpoints = ctx.webhooks
    if endpoints is None or not (webhook_id or webhook_url):
        return None, None
    if webhook_id:
        why = await endpoints.refusal(client, webhook_id)
        if why is not None:
            raise InvalidKeys([KeyProblem("webhookId", why)])
    if webhook_url:
        try:
            endpoints.check_url(webhook_url, "webhookUrl")
        except FieldProblem as exc:
            raise InvalidKeys([KeyProblem("webhookUrl", exc.detail)]) from None
    return webhook_id, webhook_url


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = _authenticate(ctx, keys.clientID, keys.securityID)
    if keys.apiVersion.strip() not in API_VERSIONS:
        raise _refuse(
            400, "BAD_API_VERSION", f"apiVersion must be one of {', '.join(API_VERSIONS)}"
        )
    if keys.flowID not in client.flows:
        raise _refuse(404, "UNKNOWN_FLOW", "flowID is not one of this client's flows")
    delay = _delay(keys.delayMinutes)
    webhook_id, webhook_url = await _webhook(ctx, keys.clientID, keys)
    accepted, rejected = await _numbers(client, keys.contactNumbers)

    name = client.calling_calendar
    calendar = ctx.calendars.find(name) if name else None
    callee = name is not None and ctx.calendars.reads_callee_zone(name)
    home = ZoneInfo(client.timezone) if callee or calendar is None else calendar.timezone
    base = ctx.now + timedelta(minutes=delay)
    calls: list[NewCall] = []
    async for number in turns(accepted):
        zone = phones.time_zone(number, home) if callee else home
        due = due_in_calendar(base, calendar, zone)
        if due is None:
            rejected.append(f"{number}:no_calling_window")
            continue
        calls.append(NewCall(str(uuid.uuid4()), len(calls), number, zone.key, due))
    if not calls:
        raise _refuse(400, "NO_NUMBER_ACCEPTED", "no number was accepted", ",".join(rejected))

    numbers = [c.number for c in calls]
    chosen = [webhook_id or webhook_url] if webhook_id or webhook_url else []  # in the fingerprint
    if keys.idempotencyKey:
        key = keys.idempotencyKey.strip()
        fingerprint = _fingerprint(
            keys.flowID, numbers, delay, keys.email, keys.referenceId, *chosen
        )
        expires: datetime = ctx.now + KEY_TTL
    else:  # the same request within dedupe_seconds is the same request
        fingerprint = _fingerprint(keys.flowID, numbers, delay, *chosen)
        key = f"auto:{fingerprint}" if client.dedupe_seconds else f"once:{uuid.uuid4()}"
        expires = ctx.now + timedelta(seconds=client.dedupe_seconds)
    req_id = str(uuid.uuid4())
    answer = {
        "obdResponseCode": "200",
        "obdReqID": req_id,
        "obdPhononUUID": ",".join(c.id for c in calls),
        "obdScheduledAt": calls[0]
        .due_at.astimezone(ZoneInfo(calls[0].zone))
        .isoformat(timespec="seconds"),
        "obdRejectedNumbers": ",".join(rejected),
    }
    stored = await ctx.outbound.create(
        NewRequest(
            id=req_id,
            client=keys.clientID,
            flow_id=keys.flowID,
            delay_minutes=delay,
            email=keys.email,
            reference_id=keys.referenceId,
            key=key,
            fingerprint=fingerprint,
            key_expires_at=expires,
            max_attempts=client.max_attempts,
            calls=calls,
            answer=answer,
            request_id=ctx.request_id,
            webhook_id=webhook_id,
            webhook_url=webhook_url,
        ),
        ctx.now,
    )
    if stored.conflict:
        raise _refuse(409, "IDEMPOTENCY_CONFLICT", "idempotencyKey was used with other contents")
    return dict(stored.answer)
