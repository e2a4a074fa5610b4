"""Short links end to end on SQLite and PostgreSQL: shortURL, /api/v1/shorten, the
redirector and its click counts, /api/v1/links, linkcreation (SPEC 2.8)."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from flowhooks.clock import FixedClock
from flowhooks.links import service
from flowhooks.logs import JsonFormatter
from flowhooks.settings import Settings
from flowhooks.storage import links as stored_links
from flowhooks.web import keys as appkeys
from tests.conftest import NEUTRAL, ClientFactory, answer_keys, envelope, settings_from
from tests.fakes import wait_for

BASE = "https://s.acme.example"
CUST = "abcd1234"
TOKEN, OTHER_TOKEN = "acme-api-token", "other-api-token"
BOT_TOKEN = "bot-123-token-secret"
BROWSER = (
    "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/119.0.0.0 Mobile Safari/537.36"
)


def links_conf(db_url: str, extra: str = "") -> Settings:
    return settings_from(
        f"""
[server]
workers = false
public_base_url = "{BASE}/"
[storage]
url = "{db_url}"
[links]
flush_seconds = 0.05
[clients.acme]
api_token = "{TOKEN}"
cust_token = "{CUST}"
[clients.other]
api_token = "{OTHER_TOKEN}"
cust_token = "other-cust"
[bots.123]
url = "https://bot.example/chat?lang=en&src=ivr"
token = "{BOT_TOKEN}"
client = "acme"
[bots.7]
url = "https://bot.example/plain"
token = "seven"
{extra}
"""
    )


async def call(client: Any, method: str, **keys: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/webhook", json=envelope(method, **keys))
    return resp.status, await resp.json()


async def shorten(client: Any, long_url: str, **keys: Any) -> str:
    status, body = await call(client, "shortURL", longUrl=long_url, custToken=CUST, **keys)
    assert (status, body["status"]) == (200, "SUCCESS"), body
    return answer_keys(body)["$flow.key.shortUrl"]


def code_of(short_url: str) -> str:
    assert short_url.startswith(f"{BASE}/s/")
    return short_url.rsplit("/", 1)[1]


async def stats(client: Any, code: str, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    resp = await client.get(f"/api/v1/links/{code}", headers={"Authorization": f"Bearer {token}"})
    return resp.status, await resp.json()


async def test_shorturl_makes_a_link_that_redirects_and_counts_people_and_bots(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(links_conf(db_url))
    short = await shorten(client, "https://acme.example/pay?invoice=42&x=a%20b")
    code = code_of(short)
    assert re.fullmatch(r"[0-9A-Za-z]{8}", code)
    resp = await client.get(f"/s/{code}", allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://acme.example/pay?invoice=42&x=a%20b"
    assert resp.headers["Cache-Control"] == "private, max-age=0"
    for ua in ("WhatsApp/2.23.20.0 A", "facebookexternalhit/1.1", "curl/8.4.0"):
        resp = await client.get(f"/s/{code}", allow_redirects=False, headers={"User-Agent": ua})
        assert resp.status == 302
    resp = await client.head(f"/s/{code}", allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302 and resp.headers["Location"].startswith("https://acme.example/")
    status, body = await stats(client, code)
    assert status == 200
    assert (body["clicks"], body["botClicks"]) == (1, 4)
    assert body["code"] == code and body["shortUrl"] == short
    assert body["longUrl"] == "https://acme.example/pay?invoice=42&x=a%20b"
    assert body["lastClickAt"] is not None and body["createdAt"] is not None
    assert body["expiresAt"] is None  # [links] expire_days = 0: never

    # the counts reach the database within the flush interval, without any request
    db = client.app[appkeys.DB]

    async def written() -> bool:
        row = await stored_links.find(db, code)
        return row is not None and (row.clicks, row.bot_clicks) == (1, 4)

    await wait_for(written, timeout=5)


async def test_clicks_counted_in_memory_are_written_at_shutdown(
    make_client: ClientFactory, db_url: str
) -> None:
    conf = links_conf(db_url, extra="")
    slow = conf.model_copy(update={"links": conf.links.model_copy(update={"flush_seconds": 1.0})})
    client = await make_client(slow)
    code = code_of(await shorten(client, "https://acme.example/a"))
    for _ in range(3):
        await client.get(f"/s/{code}", allow_redirects=False, headers={"User-Agent": BROWSER})
    await client.close()  # stops the app: the flush runs before the database closes
    again = await make_client(links_conf(db_url))
    status, body = await stats(again, code)
    assert (status, body["clicks"], body["botClicks"]) == (200, 3, 0)


async def test_the_seed_rest_call_shortens_and_answers_the_seed_shape(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(links_conf(db_url))
    resp = await client.post(
        "/api/v1/shorten", json={"custToken": CUST, "longUrl": "https://google.co.in"}
    )
    body = await resp.json()
    assert resp.status == 200 and list(body) == ["shortUrl"]
    code = code_of(body["shortUrl"])
    resp = await client.get(f"/s/{code}", allow_redirects=False)
    assert resp.headers["Location"] == "https://google.co.in"
    for doc, status, named in (
        ({"custToken": "nope", "longUrl": "https://a.example"}, 401, None),
        ({"longUrl": "https://a.example"}, 401, None),
        ({"custToken": CUST, "longUrl": "ftp://a.example/x"}, 400, "longUrl"),
        ({"custToken": CUST}, 400, "longUrl"),
        ({"custToken": CUST, "longUrl": "https://a.example", "expireDays": 0}, 400, "expireDays"),
        ({"custToken": CUST, "longUrl": "https://a.example", "expireDays": 2.5}, 400, "expireDays"),
    ):
        resp = await client.post("/api/v1/shorten", json=doc)
        body = await resp.json()
        assert resp.status == status, (doc, body)
        assert "error" in body and set(body["error"]) >= {"code", "message"}
        if named:
            assert body["error"]["message"].startswith(named)
    resp = await client.post(
        "/api/v1/shorten",
        json={"custToken": CUST, "longUrl": "https://a.example", "expireDays": "30"},
    )
    code = code_of((await resp.json())["shortUrl"])
    _, body = await stats(client, code)
    assert body["expiresAt"] is not None


async def test_the_link_belongs_to_the_client_of_the_token(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(links_conf(db_url))
    code = code_of(await shorten(client, "https://acme.example/mine"))
    assert (await stats(client, code))[0] == 200
    status, body = await stats(client, code, OTHER_TOKEN)
    assert status == 404 and "longUrl" not in json.dumps(body)  # not even that it exists
    resp = await client.get(f"/api/v1/links/{code}")
    assert resp.status == 401
    status, body = await call(
        client, "shortURL", longUrl="https://other.example", custToken="other-cust"
    )
    theirs = code_of(answer_keys(body)["$flow.key.shortUrl"])
    assert (await stats(client, theirs, OTHER_TOKEN))[0] == 200
    assert (await stats(client, theirs))[0] == 404


async def test_unknown_expired_and_malformed_codes(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(links_conf(db_url), now=NEUTRAL)
    code = code_of(await shorten(client, "https://acme.example/soon", expireDays="1"))
    links = client.app[appkeys.LINKS]
    assert (await client.get(f"/s/{code}", allow_redirects=False)).status == 302
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = NEUTRAL + timedelta(days=1)
    resp = await client.get(f"/s/{code}", allow_redirects=False)
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "EXPIRED"
    _, body = await stats(client, code)
    assert body["clicks"] + body["botClicks"] == 1  # a 410 is not a click
    resp = await client.get("/s/Zz9Zz9Zz", allow_redirects=False)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "NOT_FOUND"
    looked_up = links.lookups
    for bad in ("short", "abc-defg", "a" * 17, "%F0%9F%98%80abcdefg", "abcdefg%00"):
        resp = await client.get(f"/s/{bad}", allow_redirects=False)
        assert resp.status == 404, bad
    assert links.lookups == looked_up  # no database query for a malformed code


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ftp://acme.example/file", "http"),
        ("javascript:alert(1)", "http"),
        ("https://", "host"),
        ("acme.example/pay", "http"),
        ("https://acme.example/" + "a" * 2048, "2048"),
        ("https://user:pw@acme.example/", "user"),
        ("https://acme.example/a b", "spaces"),
        ("https://acme.example:99999/", "URL"),
    ],
)
async def test_a_bad_long_url_is_422_naming_the_key(
    make_client: ClientFactory, value: str, why: str
) -> None:
    client = await make_client(links_conf("sqlite:///:memory:"))
    status, body = await call(client, "shortURL", longUrl=value, custToken=CUST)
    assert status == 422
    detail = body["error"]["details"][0]
    assert detail["key"] == "longUrl" and why in detail["message"]


async def test_bad_token_and_expire_days(make_client: ClientFactory) -> None:
    client = await make_client(links_conf("sqlite:///:memory:"))
    status, body = await call(client, "shortURL", longUrl="https://a.example", custToken="nope")
    assert (status, body["status"]) == (200, "FAILED")
    assert answer_keys(body)["$flow.key.errorCode"] == "UNAUTHORIZED"
    for days in ("0", "3651", "ten", "1.5", "-1"):
        status, body = await call(
            client, "shortURL", longUrl="https://a.example", custToken=CUST, expireDays=days
        )
        assert status == 422 and body["error"]["details"][0]["key"] == "expireDays", days


async def test_a_code_collision_draws_again(
    make_client: ClientFactory, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique index decides; the service draws again (random codes pinned here)."""
    drawn = iter(["AAAAAAAA", "AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr(service, "new_code", lambda length: next(drawn))
    client = await make_client(links_conf(db_url))
    assert code_of(await shorten(client, "https://a.example/1")) == "AAAAAAAA"
    assert code_of(await shorten(client, "https://a.example/2")) == "BBBBBBBB"
    resp = await client.get("/s/AAAAAAAA", allow_redirects=False)
    assert resp.headers["Location"] == "https://a.example/1"


async def test_code_length_from_config(make_client: ClientFactory) -> None:
    conf = links_conf("sqlite:///:memory:")
    conf = conf.model_copy(update={"links": conf.links.model_copy(update={"code_length": 11})})
    client = await make_client(conf)
    _, body = await call(client, "shortURL", longUrl="https://a.example", custToken=CUST)
    code = answer_keys(body)["$flow.key.shortUrl"].rsplit("/", 1)[1]
    assert len(code) == 11


# -- linkcreation ------------------------------------------------------------------------

SECRETS = {
    "securityID": "SEC-ID-VALUE",
    "apiKey": "AIza-API-KEY-VALUE",
    "custToken": "CUST-TOKEN-VALUE",
    "password": "PASSWORD-VALUE",
    "myClientSecret": "CLIENT-SECRET-VALUE",
    "authTokenX": "AUTH-TOKEN-VALUE",
    "PinPassword": "PIN-PASSWORD-VALUE",
}


async def test_linkcreation_builds_the_bot_url_without_secrets(
    make_client: ClientFactory, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(links_conf(db_url))
    keys = [
        {"name": "$flow.key.cli", "value": "918160712345"},
        {"name": "$flow.key.botid", "value": "123"},
        {"name": "$flow.key.token", "value": BOT_TOKEN},
        {"name": "$flow.key.customerName", "value": "Asha Rao & Sons"},
        {"name": "$flow.key.lang", "value": "hi"},  # the bot's own lang=en is kept
        {"name": "$flow.key.note", "value": "a=b?c/d#e%f+g"},
        {"name": "$flow.key.city", "value": "मुंबई"},
        *({"name": f"$flow.key.{k}", "value": v} for k, v in SECRETS.items()),
        {"name": "$flow.syskey.flowID", "value": "ab12cd34"},
    ]
    with caplog.at_level(logging.DEBUG):
        resp = await client.post("/webhook", json={"method": "linkcreation", "keys": keys})
        body = await resp.json()
    assert (resp.status, body["status"]) == (200, "SUCCESS"), body
    out = answer_keys(body)
    uid = out["$flow.key.botUniqueID"]
    assert re.fullmatch(r"[0-9a-f-]{36}", uid)
    code = code_of(out["$flow.key.shortenUrl"])
    status, link = await stats(client, code)  # the bot's client (acme) owns it
    assert status == 200
    url = link["longUrl"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "bot.example", "/chat")
    assert parse_qsl(parts.query) == [
        ("lang", "en"),
        ("src", "ivr"),
        ("customerName", "Asha Rao & Sons"),
        ("note", "a=b?c/d#e%f+g"),
        ("city", "मुंबई"),
        ("flowID", "ab12cd34"),
        ("cli", "918160712345"),
        ("botid", "123"),
        ("uid", uid),
    ]
    assert " " not in url and "#" not in url
    resp = await client.get(f"/s/{code}", allow_redirects=False)
    assert resp.headers["Location"] == url
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for value in [BOT_TOKEN, *SECRETS.values()]:
        assert value not in url and value not in logged and value not in json.dumps(body)


async def test_linkcreation_unknown_bot_and_wrong_token(make_client: ClientFactory) -> None:
    client = await make_client(links_conf("sqlite:///:memory:"))
    _, body = await call(client, "linkcreation", cli="9181607", botid="999", token="x")
    assert answer_keys(body)["$flow.key.errorCode"] == "BOT_NOT_FOUND"
    status, body = await call(client, "linkcreation", cli="9181607", botid="123", token="wrong")
    assert (status, body["status"]) == (200, "FAILED")
    assert answer_keys(body)["$flow.key.errorCode"] == "UNAUTHORIZED"
    assert BOT_TOKEN not in json.dumps(body)
    status, body = await call(client, "linkcreation", botid="123", token=BOT_TOKEN)
    assert status == 422 and body["error"]["details"][0]["key"] == "cli"


async def test_linkcreation_for_a_bot_without_a_client_is_the_default_clients(
    make_client: ClientFactory,
) -> None:
    client = await make_client(links_conf("sqlite:///:memory:"))
    _, body = await call(client, "linkcreation", cli="9181607", botid="7", token="seven")
    code = code_of(answer_keys(body)["$flow.key.shortenUrl"])
    row = await stored_links.find(client.app[appkeys.DB], code)
    assert row is not None and row.client == "default"
    assert row.long_url.startswith("https://bot.example/plain?cli=9181607&botid=7&uid=")


async def test_a_bot_link_too_long_fails(make_client: ClientFactory) -> None:
    client = await make_client(links_conf("sqlite:///:memory:"))
    _, body = await call(client, "linkcreation", cli="1", botid="7", token="seven", blob="x" * 3000)
    assert answer_keys(body)["$flow.key.errorCode"] == "URL_TOO_LONG"
