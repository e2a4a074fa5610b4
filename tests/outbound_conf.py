"""Configs and helpers shared by the outbound tests."""

from __future__ import annotations

from typing import Any

from flowhooks.settings import Settings
from tests.conftest import answer_keys, envelope, settings_from
from tests.fakes import CLIENT_ID, CLIENT_SECRET

SECRET = "a" * 64
FR_SECRET = "f" * 64
US_SECRET = "u" * 64
TOKEN = "acme-token"
OTHER_TOKEN = "other-token"


def outbound_conf(
    db_url: str, *, workers: bool = False, extra: str = "", dialer: str = ""
) -> Settings:
    return settings_from(
        f"""
[server]
workers = {str(workers).lower()}
[storage]
url = "{db_url}"
[testing]
allow_clock_override = true
[calendars.calling]
timezone = "Asia/Kolkata"
workdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
hours = "09:00-21:00"
[calendars.us_calling]
timezone = "callee"
workdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
hours = "08:00-21:00"
[clients.acme]
security_id = "{SECRET}"
api_token = "{TOKEN}"
default_region = "IN"
flows = ["ab12cd34"]
calling_calendar = "calling"
max_attempts = 2
retry_minutes = 30
max_calls_per_second = 1000
max_concurrent_calls = 1000
[clients.fr]
security_id = "{FR_SECRET}"
api_token = "{OTHER_TOKEN}"
default_region = "FR"
flows = ["fr000001"]
[clients.us]
security_id = "{US_SECRET}"
default_region = "US"
flows = ["us000001"]
calling_calendar = "us_calling"
timezone = "America/Chicago"
max_requests_per_second = 2
[providers.unifonic]
format = "unifonic"
username = "cb-user"
password = "cb-pass"
[providers.voiceai]
format = "voiceai"
[providers.c2c]
format = "click2call"
{dialer}
{extra}
"""
    )


def startcall_dialer(base: str, step: float = 30.0) -> str:
    return f"""
[dialer]
backend = "startcall"
poll_seconds = 0.05
lease_seconds = 30
[dialer.startcall]
token_url = "{base}/token"
call_url = "{base}/api/startcall"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
timeout_seconds = 2
"""


def simulated_dialer(outcomes: str = "{ completed = 1.0 }", step: float = 0.05) -> str:
    return f"""
[dialer]
backend = "simulated"
poll_seconds = 0.05
[dialer.simulated]
step_seconds = {step}
outcomes = {outcomes}
"""


def create(
    numbers: str, client: str = "acme", secret: str = SECRET, flow: str = "ab12cd34", **keys: Any
) -> dict[str, Any]:
    return envelope(
        "createOutbound",
        **{
            "$flow.syskey.apiVersion": "1.0",
            "$flow.syskey.securityID": secret,
            "$flow.syskey.flowID": flow,
            "$flow.syskey.clientID": client,
            "$flow.syskey.contactNumbers": numbers,
            **keys,
        },
    )


async def post(
    client: Any, doc: dict[str, Any], now: str | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"X-Flowhooks-Now": now} if now else {}
    resp = await client.post("/webhook", json=doc, headers=headers)
    body = await resp.json()
    return resp.status, answer_keys(body), body


async def view(client: Any, req_id: str, token: str = TOKEN) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v1/outbound/{req_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc
