"""The console over HTTP (issue 27): sessions, sign-in limits, CSRF, headers, tenancy,
the playground's secrets, the home's numbers. The browser tests (tests/browser/) drive
the same pages in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from flowhooks.clock import FixedClock
from flowhooks.console import charts
from flowhooks.console.home import quantile
from flowhooks.console.pages import CONSOLE
from flowhooks.metrics import BUCKETS
from tests.conftest import NEUTRAL, ClientFactory, envelope, settings_from

ADMIN = "operator-token-0123456789"
KEY = "console-tests-secret-key-0123456789abcdef"
PAGES = [
    "/console",
    "/console/playground",
    "/console/calls",
    "/console/calls/some-id",
    "/console/webhooks",
    "/console/deliveries",
    "/console/links",
    "/console/links/abcdefgh",
    "/console/reports",
    "/console/reports.csv",
    "/console/agents",
    "/console/agents/+919800000001",
    "/console/calendars",
    "/console/logout",
]


def conf(
    db: Path | None = None,
    extra: str = "",
    key: str | None = KEY,
    server: str = "",
    console: str = "",
) -> Any:
    storage = f'[storage]\nurl = "sqlite:///{db}"\n' if db else ""
    security = f'secret_key = "{key}"' if key else ""
    return settings_from(
        f"""
{storage}
[server]
workers = false
{server}
[testing]
allow_clock_override = true
[security]
{security}
[console]
admin_token = "{ADMIN}"
{console}
[clients.acme]
api_token = "acme-token"
security_id = "{"a" * 64}"
flows = ["ab12cd34"]
[clients.other]
api_token = "other-token"
security_id = "{"b" * 64}"
flows = ["ff000001"]
{extra}
""",
        memory=db is None,
    )


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found, text[:500]
    return found.group(1)


async def sign_in(client: TestClient[Any, Any], token: str = "acme-token") -> str:
    """Sign in; the session's CSRF token."""
    page = await client.get("/console/login")
    form = {"csrf": csrf_of(await page.text()), "token": token, "next": "/console/playground"}
    resp = await client.post("/console/login", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return csrf_of(await (await client.get("/console/playground")).text())


async def test_root_redirects_and_every_page_needs_a_session(make_client: ClientFactory) -> None:
    client = await make_client(conf())
    resp = await client.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/console")
    for path in PAGES:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303, path
        assert resp.headers["Location"].startswith("/console/login?next=/console"), path
    resp = await client.post("/console/agents/+919800000001/toggle", allow_redirects=False)
    assert resp.headers["Location"] == "/console/login?next=/console"


async def test_pages_send_the_security_headers_and_an_httponly_strict_cookie(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf())
    resp = await client.get("/console/login")
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookie = resp.cookies["flowhooks_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/console"
    text = await resp.text()
    assert "<script>" not in text and not re.search(r"\son[a-z]+=", text)
    static = await client.get("/console/static/htmx.min.js")
    assert static.status == 200 and "javascript" in static.headers["Content-Type"]
    assert (await client.get("/console/static/nope.js")).status == 404


async def test_the_cookie_is_secure_behind_https(make_client: ClientFactory) -> None:
    client = await make_client(conf(server='public_base_url = "https://ivr.example"'))
    resp = await client.get("/console/login")
    assert resp.cookies["flowhooks_console"]["secure"]


async def test_sign_in_and_out(make_client: ClientFactory) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    await sign_in(client)
    assert (await client.get("/console/calls", allow_redirects=False)).status == 200
    resp = await client.get("/console/playground")
    token = csrf_of(await resp.text())
    resp = await client.post("/console/logout", data={"csrf": token}, allow_redirects=False)
    assert resp.headers["Location"] == "/console/login"
    assert (await client.get("/console/calls", allow_redirects=False)).status == 303


async def test_a_session_expires_after_session_hours(make_client: ClientFactory) -> None:
    from flowhooks.web import keys as appkeys

    client = await make_client(conf(console="session_hours = 1"), now=NEUTRAL)
    await sign_in(client)
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = NEUTRAL + timedelta(minutes=59)
    assert (await client.get("/console/calls", allow_redirects=False)).status == 200
    clock.moment = NEUTRAL + timedelta(minutes=61)
    assert (await client.get("/console/calls", allow_redirects=False)).status == 303


async def test_five_failed_sign_ins_a_minute_then_429_across_processes(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """Two apps on one database (two processes' view) count one address's failures."""
    db = tmp_path / "f.db"
    first = await make_client(conf(db), now=NEUTRAL)
    second = await make_client(conf(db), now=NEUTRAL)
    for i in range(5):
        client = first if i % 2 else second
        page = await client.get("/console/login")
        form = {"csrf": csrf_of(await page.text()), "token": f"wrong-{i}"}
        resp = await client.post("/console/login", data=form)
        assert resp.status == 401
    page = await first.get("/console/login")
    form = {"csrf": csrf_of(await page.text()), "token": "acme-token"}
    resp = await first.post("/console/login", data=form, allow_redirects=False)
    assert resp.status == 429 and resp.headers["Retry-After"] == "60"
    from flowhooks.web import keys as appkeys

    clock = first.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = NEUTRAL + timedelta(seconds=61)
    resp = await first.post("/console/login", data=form, allow_redirects=False)
    assert resp.status == 303


async def test_a_session_holds_in_every_process_with_the_same_key(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    first = await make_client(conf(db))
    await sign_in(first)
    cookie = first.session.cookie_jar.filter_cookies(first.make_url("/console"))[
        "flowhooks_console"
    ]
    second = await make_client(conf(db))
    resp = await second.get(
        "/console/calls", cookies={"flowhooks_console": cookie.value}, allow_redirects=False
    )
    assert resp.status == 200
    keyless = await make_client(conf(db, key=None))
    resp = await keyless.get(
        "/console/calls", cookies={"flowhooks_console": cookie.value}, allow_redirects=False
    )
    assert resp.status == 303  # another key: the cookie is not this process's


async def test_without_a_key_several_processes_refuse_sign_in(make_client: ClientFactory) -> None:
    settings = conf(key=None)
    several = settings.model_copy(
        update={"server": settings.server.model_copy(update={"processes": 2})}
    )
    client = await make_client(several)
    page = await client.get("/console/login")
    text = await page.text()
    assert "secret_key" in text and 'name="token"' not in text
    cookie = page.cookies["flowhooks_console"].value
    session = client.app[CONSOLE].sessions.read_value(cookie)
    assert session is not None
    form = {"csrf": session.csrf, "token": "acme-token"}
    resp = await client.post("/console/login", data=form, allow_redirects=False)
    assert resp.status == 503


async def test_a_post_without_the_csrf_token_is_refused(make_client: ClientFactory) -> None:
    client = await make_client(conf(extra=AGENTS))
    token = await sign_in(client)
    resp = await client.post("/console/agents/+919800000001/toggle", data={})
    assert resp.status == 403
    for kind in ("multipart/form-data", "application/json"):  # not a form: 400, never a 500
        resp = await client.post(
            "/console/agents/+919800000001/toggle", data=b"x", headers={"Content-Type": kind}
        )
        assert resp.status == 400
    resp = await client.post("/console/agents/+919800000001/toggle", data={"csrf": token + "x"})
    assert resp.status == 403
    page = await client.get("/console/agents/+919800000001")
    assert "No changes yet." in await page.text()
    resp = await client.post("/console/agents/+919800000001/toggle", data={"csrf": token})
    assert resp.status == 200
    page = await client.get("/console/agents/+919800000001")
    assert "<td>toggle</td>" in await page.text()


AGENTS = """
[[agents]]
client = "acme"
cli = "+919800000001"
name = "<b>Asha</b>"
did = "+918068000000"
"""


async def test_another_clients_request_is_404_and_only_the_operator_picks(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(conf(tmp_path / "t.db"))
    doc = envelope(
        "createOutbound",
        apiVersion="1.0",
        securityID="b" * 64,
        flowID="ff000001",
        clientID="other",
        contactNumbers="9876543210",
        delayMinutes="600",
    )
    keys = {
        k["name"]: k["value"]
        for k in (await (await client.post("/webhook", json=doc)).json())["keys"]
    }
    req_id = keys["$flow.key.obdReqID"]
    token = await sign_in(client)
    resp = await client.get(f"/console/calls/{req_id}")
    assert resp.status == 404
    resp = await client.post("/console/client", data={"csrf": token, "client": "other"})
    assert resp.status == 403
    resp = await client.post(f"/console/calls/{req_id}/cancel", data={"csrf": token})
    assert resp.status == 404
    operator = await make_client(conf(tmp_path / "t.db"))
    token = await sign_in(operator, ADMIN)
    await operator.post(
        "/console/client", data={"csrf": token, "client": "other", "next": "/console"}
    )
    resp = await operator.get(f"/console/calls/{req_id}")
    assert resp.status == 200 and req_id in await resp.text()


@pytest.mark.parametrize("method, path", [
    ("GET", "/console/calls/a%00b"),
    ("POST", "/console/calls/a%00b/cancel"),
    ("POST", "/console/deliveries/a%00b/retry"),
    ("GET", "/console/calls/" + "x" * 300),
])  # fmt: skip
async def test_a_malformed_id_in_a_path_is_no_such_thing(
    make_client: ClientFactory, method: str, path: str
) -> None:
    """As the API (``web.params.id_of``): a NUL was a 500 on PostgreSQL."""
    client = await make_client(conf())
    token = await sign_in(client)
    resp = await client.request(method, path, data={"csrf": token} if method == "POST" else None)
    assert resp.status == 404


async def test_values_are_escaped(make_client: ClientFactory) -> None:
    client = await make_client(conf(extra=AGENTS))
    await sign_in(client)
    text = await (await client.get("/console/agents")).text()
    assert "&lt;b&gt;Asha&lt;/b&gt;" in text and "<b>Asha" not in text


async def test_the_playground_answers_as_the_client_and_hides_secrets(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf())
    token = await sign_in(client)
    form = {
        "csrf": token,
        "method": "createOutbound",
        "apiVersion": "1.0",
        "securityID": "a" * 64,
        "flowID": "ab12cd34",
        "clientID": "other",  # ignored: the console's client is acme
        "contactNumbers": "9876543210",
        "delayMinutes": "600",
    }
    resp = await client.post("/console/playground", data=form)
    text = await resp.text()
    assert resp.status == 200 and "obdReqID" in text and "HTTP 200" in text
    assert "a" * 64 not in text
    case = orjson.loads(
        re.search(r'<textarea name="case" hidden>(.*?)</textarea>', text, re.S)
        .group(1)
        .replace("&#34;", '"')
    )  # type: ignore[union-attr]
    sent = {k["name"]: k["value"] for k in case["request"]["keys"]}
    assert sent["securityID"] == "***" and sent["clientID"] == "acme"
    assert case["expect"]["keys"]["$flow.key.obdReqID"] == "*"


async def test_the_console_can_be_turned_off(make_client: ClientFactory) -> None:
    client = await make_client(conf(console="enabled = false"))
    resp = await client.get("/console")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "NOT_FOUND"


async def test_the_home_charts_every_process_requests(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """Requests counted by two apps (two processes) are summed on the operator's home."""
    from flowhooks.web import keys as appkeys
    from flowhooks.workers.stats import StatsWriter

    db = tmp_path / "h.db"
    apps = [await make_client(conf(db), now=NEUTRAL) for _ in range(2)]
    for app in apps:
        for _ in range(3):
            await app.post("/webhook", json=envelope("validateDateTime", inputDate="tomorrow"))
        a = app.app
        await StatsWriter(a[appkeys.DB], a[appkeys.METRICS].stats, a[appkeys.CLOCK]).write()
    await sign_in(apps[0], ADMIN)
    text = await (await apps[0].get("/console")).text()
    row = re.search(r"<tr><td>validateDateTime</td><td class=\"num\">(\d+)</td>", text)
    assert row and row.group(1) == "6"


def test_quantiles_of_a_histogram() -> None:
    counts = [0.0] * (len(BUCKETS) + 1)
    assert quantile(counts, 0.5) is None
    counts[2] = 100  # all between BUCKETS[1] and BUCKETS[2]
    assert BUCKETS[1] < quantile(counts, 0.5) < BUCKETS[2]  # type: ignore[operator]
    counts[-1] = 1000  # beyond the last bound
    assert quantile(counts, 0.99) == BUCKETS[-1]


def test_charts_escape_their_labels() -> None:
    svg = charts.bars("t", [("<script>x</script>", 3)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    cols = charts.columns("t", ["a&b"], [charts.Series("s<", [1])])
    assert "a&amp;b" in cols and "s&lt;" in cols


def test_a_time_axis_label_at_the_right_edge_ends_there() -> None:
    """30 days labelled every 7th: the last label ("22 Nov") would be cut in half."""
    days = [f"{d:02d} Nov" for d in range(1, 31)]
    svg = charts.columns("t", days, [charts.Series("clicks", [1] * 30)], every=7)
    first, last = re.findall(r'<text x="[^"]+" y="\d+" text-anchor="(\w+)">(\d+ Nov)<', svg)[::4]
    assert first == ("middle", "01 Nov") and last == ("end", "29 Nov")
    assert f'<text x="{charts.WIDTH:.1f}"' in svg


@pytest.mark.parametrize(
    "path",
    [
        "/console/calls?state=nope",
        "/console/deliveries?from=x",
        "/console/calendars?month=2026-13",
        "/console/deliveries?before=9999999999999999999",  # past a BIGINT: never a cursor
        "/console/reports?before=9999999999999999999",
        "/console/deliveries?from=0001-01-01T00:00",  # the API's bounds of an instant
        "/console/reports?to=9999-12-31T23:59",
    ],
)
async def test_a_bad_filter_is_a_400_page_naming_it(make_client: ClientFactory, path: str) -> None:
    client = await make_client(conf())
    await sign_in(client)
    resp = await client.get(path)
    assert resp.status == 400
    name = path.split("?")[1].split("=")[0]
    message = re.search(r'<p id="message">([^<]*)</p>', await resp.text())
    assert message is not None and message.group(1).startswith(f"{name}: ")
    assert not message.group(1).startswith(f"{name}: {name}:")  # named once


async def test_retry_all_dead_of_a_filter_from_the_deliveries_page(
    make_client: ClientFactory,
) -> None:
    from flowhooks.storage import outbox
    from flowhooks.web import keys as appkeys
    from flowhooks.webhooks.retry import Decision

    hook = '[clients.acme.webhooks.report]\nurl = "https://hooks.example/r?id={{id}}"'
    client = await make_client(conf(extra=hook), now=NEUTRAL)
    for _ in range(2):
        resp = await client.post("/webhook", json=envelope("pullreport", clientID="acme"))
        assert resp.status == 200
    db, later = client.app[appkeys.DB], NEUTRAL + timedelta(minutes=1)
    for claimed in await outbox.claim(db, {("acme", "report"): 10}, "t", NEUTRAL, later):
        await outbox.finish(db, claimed, "t", Decision("dead", None, "HTTP 500"), 500, NEUTRAL)
    token = await sign_in(client)
    page = await client.get("/console/deliveries?state=dead")
    assert (await page.text()).count('class="delivery"') == 2
    form = {"csrf": token, "state": "dead", "event": "report"}
    resp = await client.post("/console/deliveries/retry-dead", data=form)
    text = await resp.text()
    assert resp.status == 200 and "2 deliveries queued again" in text
    assert "No deliveries." in text  # the page went back to the dead filter: none left
