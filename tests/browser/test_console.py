"""The console in a real Chromium (issue 27): sign in and out, every page with data made
through the APIs (at 1280 and 390 px, screenshots under var/screenshots/), the
playground, a call's timeline to completed, a dead delivery retried, the agent
toggle, the CSV, a flow's traces (filters, secrets "***", the call in order, the export
replayed by ``flowhooks replay``), the client's home charts, a webhook managed from its
page (secret shown once, edit, disable, rotate, a test event at the receiver, delete),
escaping, tenancy, CSRF."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from tests.browser.conftest import ACME, ADMIN, OTHER, OTHER_SECURITY_ID, SECURITY_ID, Console
from tests.fakes import Received

XSS = "<script>alert(1)</script>"
CALL_KEY = "CA-BROWSER-1"
WAIT = 20_000  # ms: generous, the machine is shared
expect.set_options(timeout=WAIT)


def call(console: Console, method: str, path: str, body: Any = None, **headers: str) -> Any:
    """One request to the served app (the APIs that make the data); its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(console.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    with urllib.request.urlopen(request, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def envelope(console: Console, method: str, **keys: str) -> dict[str, str]:
    doc = {"method": method, "keys": [{"name": k, "value": v} for k, v in keys.items()]}
    answer = call(console, "POST", "/webhook", doc)
    return {k["name"]: k["value"] for k in answer["keys"]}


def create(console: Console, numbers: str, client: str = "acme", **keys: str) -> str:
    secret, flow = (
        (SECURITY_ID, "ab12cd34") if client == "acme" else (OTHER_SECURITY_ID, "ff000001")
    )
    answer = envelope(
        console,
        "createOutbound",
        apiVersion="1.0",
        securityID=secret,
        flowID=flow,
        clientID=client,
        contactNumbers=numbers,
        **keys,
    )
    assert answer["$flow.key.obdResponseCode"] == "200", answer
    return answer["$flow.key.obdReqID"]


def api(console: Console, path: str, method: str = "GET", token: str = ACME) -> Any:
    return call(console, method, path, Authorization=f"Bearer {token}")


@pytest.fixture(scope="module")
def data(console: Console) -> dict[str, str]:
    """What the pages show, made through the envelope and REST APIs."""
    console.receiver.default = 500  # report deliveries fail until a test says otherwise
    made = {
        "completed": create(console, "9876543210"),
        "queued": create(console, "9876543211", delayMinutes="600"),
        "other": create(console, "9876543212", client="other"),
        "report": envelope(console, "pullreport", clientID="acme", cli="9876543210", note=XSS)[
            "$flow.key.reportId"
        ],
    }
    short = call(
        console,
        "POST",
        "/api/v1/shorten",
        {"custToken": "acme-cust-token", "longUrl": "https://acme.example/pay?invoice=42"},
    )["shortUrl"]
    made["code"] = code = short.rsplit("/", 1)[1]
    # one call's envelopes (its call key), traced: a valid date, an outbound call, a 422
    envelope(console, "validateDateTime", clientID="acme", callId=CALL_KEY, cli="9876543210",
             inputDate="25-12-2026", inputTime="11:00")  # fmt: skip
    create(console, "9876543213", delayMinutes="600", callId=CALL_KEY)
    try:
        envelope(console, "validateDateTime", clientID="acme", callId=CALL_KEY, cli="9876543210")
    except urllib.error.HTTPError as exc:
        assert exc.code == 422  # no inputDate
    made["trace"] = traced(console, ACME, f"callKey={CALL_KEY}&method=createOutbound", 3)
    made["pullreport"] = traced(console, ACME, "method=pullreport")
    made["other_trace"] = traced(console, OTHER, "method=createOutbound")
    for agent in (
        "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
        "Mozilla/5.0 Firefox/120",
        "Googlebot/2.1",
    ):
        request = urllib.request.Request(f"{console.url}/s/{code}", headers={"User-Agent": agent})
        opener = urllib.request.build_opener(NoRedirect())
        try:
            opener.open(request, timeout=30)
        except urllib.error.HTTPError as exc:
            assert exc.code == 302
    return made


def traced(console: Console, token: str, query: str, wait_for: int = 1) -> str:
    """The newest traced requestId of ``query`` once the writer has stored ``wait_for``
    traces of the query's call key or method (it writes every 250 ms)."""
    base = query.split("&")[0]
    deadline = time.monotonic() + WAIT / 1000
    while len(api(console, f"/api/v1/traces?{base}", token=token)["traces"]) < wait_for:
        assert time.monotonic() < deadline, f"no traces of {base}"
        time.sleep(0.1)
    found = api(console, f"/api/v1/traces?{query}", token=token)["traces"]
    return str(found[0]["requestId"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Page]:
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield tab
    context.close()
    assert dialogs == [], f"a script ran: {dialogs}"


def sign_in(page: Page, token: str = ACME) -> None:
    page.goto("/console/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    expect(page.locator("nav")).to_be_visible()


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_sign_in_and_out(page: Page) -> None:
    page.goto("/console/calls")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/calls$"))
    page.fill("input[name=token]", "not-a-token")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_have_text("That token opens no console.")
    page.fill("input[name=token]", ACME)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/calls$"))
    expect(page.locator("h1")).to_have_text("Outbound calls")
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console$"))


PAGES = [
    ("home", "/console", "acme: the last 24 hours"),
    ("playground", "/console/playground", "Playground"),
    ("calls", "/console/calls", "Outbound calls"),
    ("call", "/console/calls/{completed}", "Request {completed}"),
    ("webhooks", "/console/webhooks", "Webhook endpoints"),
    ("deliveries", "/console/deliveries", "Webhook deliveries"),
    ("links", "/console/links", "Short links"),
    ("link", "/console/links/{code}", "Link {code}"),
    ("reports", "/console/reports", "Call reports"),
    ("agents", "/console/agents", "Agent board"),
    ("calendars", "/console/calendars", "Calendar default: November 2026"),
    ("traces", "/console/traces", "Flow traces"),
    ("trace", "/console/traces/{trace}", "Trace {trace}"),
    ("trace-call", "/console/traces/{trace}/call", "Call " + CALL_KEY),
]


def test_every_page_renders_its_data_at_1280_and_390_px(
    page: Page, console: Console, data: dict[str, str], screenshots: Path
) -> None:
    sign_in(page)
    expect(page.locator("#calls")).to_contain_text("Calls by state")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path, title in PAGES:
            response = page.goto(path.format(**data))
            assert response is not None and response.status == 200, (name, width)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            expect(page.locator("h1")).to_have_text(title.format(**data))
            assert no_horizontal_scroll(page), f"{name} scrolls sideways at {width} px"
            assert page.locator("script:not([src])").count() == 0
            page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    page.goto("/console/calls")
    expect(page.locator("#calls")).to_contain_text("+919876543210")
    page.goto("/console/links")
    expect(page.locator("#links")).to_contain_text(data["code"])
    page.goto(f"/console/links/{data['code']}")
    expect(page.locator("#clicks")).to_have_text("2")
    expect(page.locator("#bot-clicks")).to_have_text("1")
    page.goto("/console/calendars")
    expect(page.locator("[data-date='2026-11-27']")).to_contain_text("Founders' day")
    expect(page.locator("#slots")).to_contain_text("Callback")


def test_operator_sees_every_client(page: Page, data: dict[str, str], screenshots: Path) -> None:
    sign_in(page, ADMIN)
    expect(page.locator(".tag")).to_have_text("operator")
    expect(page.locator("h1")).to_have_text("The service: the last 24 hours")
    expect(page.locator("#methods table")).to_contain_text("createOutbound")  # written by the loop
    page.screenshot(path=str(screenshots / "home-operator-1280.png"), full_page=True)
    with page.expect_navigation():  # the picker submits itself: wait for the new session
        page.select_option("#client-picker", "other")
    expect(page.locator("#client-picker")).to_have_value("other")
    page.goto(f"/console/calls/{data['other']}")
    expect(page.locator("h1")).to_contain_text(data["other"])
    page.goto(f"/console/traces/{data['other_trace']}")
    expect(page.locator("#request-keys")).to_contain_text("ff000001")


def test_playground_sends_validate_datetime_and_shows_output_date(
    page: Page, screenshots: Path
) -> None:
    sign_in(page)
    page.goto("/console/playground")
    expect(page.locator("select[name=method]")).to_have_value("validateDateTime")
    expect(page.locator("input[name=inputDate]")).to_have_attribute("placeholder", "08122019")
    page.fill("input[name=inputDate]", "25-12-2026")
    page.fill("input[name=inputTime]", "11:00")
    page.fill("input[name=now]", "2026-12-07T10:00:00+05:30")
    page.click("button:text-is('Send')")
    row = page.locator("#answer tr", has_text="$flow.key.outputDate")
    expect(row).to_contain_text("2026-12-26T11:00:00+05:30")  # Christmas rolls to the 26th
    expect(page.locator("#answer")).to_contain_text("HTTP 200")
    expect(page.locator("#curl")).to_contain_text("X-Flowhooks-Now: 2026-12-07T10:00:00+05:30")
    page.set_viewport_size({"width": 390, "height": 900})
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(screenshots / "playground-answer-390.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Save as replay case")
    case = json.loads(Path(download.value.path()).read_text())
    assert case["now"] == "2026-12-07T10:00:00+05:30"
    assert case["request"]["method"] == "validateDateTime"
    assert case["expect"]["keys"]["$flow.key.outputDate"] == "2026-12-26T11:00:00+05:30"


def test_a_calls_timeline_reaches_completed(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    page.goto("/console/calls")
    page.click(f"a[href='/console/calls/{data['completed']}']")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("queued", timeout=WAIT)
    expect(timeline.locator(".state.completed")).to_have_count(1, timeout=WAIT)  # polled
    expect(timeline).to_contain_text("dialing")
    expect(timeline).to_contain_text("initiated")


def test_cancel_a_call_not_started(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    page.goto(f"/console/calls/{data['queued']}")
    page.click("text=Cancel the calls not started")
    expect(page.locator(".notice")).to_have_text("1 call(s) cancelled.")
    expect(page.locator(".call h2 .state")).to_have_text("cancelled")


def test_a_dead_delivery_is_retried_from_the_page_and_delivered(
    page: Page, console: Console, data: dict[str, str]
) -> None:
    sign_in(page)
    page.goto("/console/deliveries?state=dead")
    row = page.locator("tr.delivery").first
    for _ in range(40):  # the first attempts fail until the delivery gives up (~2 s)
        if page.locator("tr.delivery").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(row).to_contain_text("dead")
    delivery = row.get_attribute("data-id")
    page.locator("tr.detail details summary").first.click()
    expect(page.locator("tr.detail table.tries").first).to_contain_text("500")
    console.receiver.default = 200
    row.locator("button", has_text="Retry").click()
    expect(page.locator("#retried")).to_contain_text("1 delivery queued again")
    page.goto("/console/deliveries?state=delivered")
    for _ in range(40):
        if page.locator(f"tr.delivery[data-id='{delivery}']").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator(f"tr.delivery[data-id='{delivery}']")).to_contain_text("delivered")


def test_the_agent_toggle_changes_the_state(page: Page, console: Console) -> None:
    sign_in(page)
    page.goto("/console/agents")
    asha = page.locator("tr.agent[data-cli='+919800000001']")
    before = asha.locator(".pause").inner_text()
    asha.locator("button").click()
    after = "unpaused" if before == "paused" else "paused"
    expect(page.locator("tr.agent[data-cli='+919800000001'] .pause")).to_have_text(after)
    state = api(console, "/api/v1/agents/+919800000001")
    assert state["paused"] is (after == "paused")
    page.click("text=Asha")
    expect(page.locator("#history")).to_contain_text("toggle")


def test_the_csv_downloads(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    page.goto("/console/reports")
    with page.expect_download() as download:
        page.click("#csv")
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("reportId,createdAt")
    assert data["report"] in text
    assert download.value.suggested_filename == "reports.csv"


def test_a_script_in_a_value_stays_text(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    page.goto("/console/reports")
    expect(page.locator("#reports")).to_contain_text(XSS)
    assert page.locator("#reports script").count() == 0
    page.goto(f"/console/traces/{data['pullreport']}")
    expect(page.locator("#request-keys")).to_contain_text(XSS)
    assert page.locator("#request-keys script").count() == 0


def test_another_clients_call_page_is_404(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    response = page.goto(f"/console/calls/{data['other']}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    response = page.goto(f"/console/traces/{data['other_trace']}")
    assert response is not None and response.status == 404


def test_a_post_without_the_csrf_token_is_refused(page: Page, console: Console) -> None:
    sign_in(page)
    before = api(console, "/api/v1/agents/+919800000002")["paused"]
    response = page.request.post("/console/agents/%2B919800000002/toggle", form={"next": "x"})
    assert response.status == 403
    assert api(console, "/api/v1/agents/+919800000002")["paused"] == before
    good = page.request.post(
        "/console/agents/%2B919800000002/toggle", form={"csrf": "forged-token"}
    )
    assert good.status == 403


def test_a_flows_envelopes_appear_on_the_traces_page_and_its_filters_work(
    page: Page, data: dict[str, str]
) -> None:
    sign_in(page)
    page.click("nav >> text=Traces")
    expect(page.locator("h1")).to_have_text("Flow traces")
    expect(page.locator("#traces")).to_contain_text("createOutbound")
    page.fill("input[name=callKey]", CALL_KEY)
    page.select_option("select[name=status]", "FAILED")
    page.click("button:text-is('Filter')")
    expect(page.locator("#traces tr.trace")).to_have_count(1)
    expect(page.locator("#traces")).to_contain_text("INVALID_KEYS")
    page.select_option("select[name=status]", "")
    page.fill("input[name=cli]", "+91 98765-43210")  # another format of the number
    page.click("button:text-is('Filter')")
    expect(page.locator("#traces tr.trace")).to_have_count(2)  # createOutbound sent no cli
    page.fill("input[name=cli]", "")
    page.fill("input[name=method]", "createoutbound")  # any case
    page.click("button:text-is('Filter')")
    expect(page.locator("#traces tr.trace")).to_have_count(1)
    page.locator(f"tr.trace[data-id='{data['trace']}'] a").first.click()
    expect(page.locator("h1")).to_have_text(f"Trace {data['trace']}")
    secret = page.locator("#request-keys tr", has_text="securityID")
    expect(secret.locator("td").nth(1)).to_have_text("***")
    assert SECURITY_ID not in page.content()
    expect(page.locator("#answer-keys")).to_contain_text("$flow.key.obdReqID")
    page.click("#call-link")
    methods = page.locator("#envelopes li.envelope strong")
    expect(methods).to_have_text(["validateDateTime", "createOutbound", "validateDateTime"])
    expect(page.locator("#envelopes li.here strong")).to_have_text("createOutbound")


def test_the_export_downloads_jsonl_that_flowhooks_replay_accepts(
    page: Page, console: Console, data: dict[str, str], tmp_path: Path
) -> None:
    sign_in(page)
    page.goto(f"/console/traces?method=validateDateTime&callKey={CALL_KEY}")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename == "traces.jsonl"
    cases = tmp_path / "cases.jsonl"
    download.value.save_as(cases)
    lines = [json.loads(line) for line in cases.read_text().splitlines()]
    assert [c["expect"]["http"] for c in lines] == [200, 422]  # oldest first
    exe = shutil.which("flowhooks", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run(
        [exe, "replay", str(cases), "--url", f"{console.url}/webhook"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "2 passed, 0 failed"


def test_the_clients_home_charts_its_traced_requests(page: Page, data: dict[str, str]) -> None:
    sign_in(page)
    methods = page.locator("#methods table")
    expect(methods).to_contain_text("createOutbound")
    expect(methods).to_contain_text("validateDateTime")
    assert page.locator("#requests svg rect").count() > 0
    assert page.locator("#tracing").count() == 0  # every envelope is traced here


def signed_by(secret: str, got: Received) -> bool:
    """One of the request's signatures is ``standardwebhooks``' own for ``secret`` (its
    timestamp check left out: the app's clock is pinned)."""
    stamp = datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(got.headers["webhook-id"], stamp, got.body.decode())
    return expected in got.headers["webhook-signature"].split(" ")


def test_a_webhook_is_made_edited_disabled_rotated_tested_and_deleted_from_its_page(
    page: Page, console: Console, screenshots: Path
) -> None:
    sign_in(page)
    page.click("nav >> text=Webhooks")
    page.click("#new-webhook summary")
    page.fill("#create input[name=url]", "ftp://hooks.example/x")
    page.fill("#create input[name=description]", XSS)
    page.click("button:text-is('Create webhook')")  # a 422 is shown too (htmx swaps it)
    expect(page.locator("#problem-create")).to_have_text(
        "url: must be an http:// or https:// URL with a host"
    )
    expect(page.locator("#create input[name=description]")).to_have_value(XSS)
    page.set_viewport_size({"width": 390, "height": 900})
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(screenshots / "webhook-form-problem-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.fill("#create input[name=url]", f"{console.hooks}/managed?ref={{{{id}}}}")
    page.uncheck("#create input[name=events][value=call_status]")  # report events only
    page.click("button:text-is('Create webhook')")
    expect(page.locator("h1")).to_have_text(f"Webhook {XSS}")  # text, not markup
    first = page.locator("#secret").inner_text()
    assert first.startswith("whsec_")
    webhook_id = page.url.rsplit("/", 1)[1]
    page.set_viewport_size({"width": 390, "height": 900})
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(screenshots / "webhook-created-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.locator("#summary")).to_contain_text(webhook_id)
    assert page.locator("#new-secret").count() == 0 and first not in page.content()
    page.goto("/console/webhooks")
    expect(page.locator(f"#endpoint-{webhook_id} h2")).to_contain_text(XSS)
    assert page.locator("main script").count() == 0

    page.click(f"#endpoint-{webhook_id} h2 a")
    page.fill("#edit input[name=description]", "CRM bookings")
    page.fill("#edit textarea[name=headers]", "X-Ref: {{id}}\nX-Api-Key: k-1")
    page.click("#edit button:text-is('Save')")
    expect(page.locator("#done")).to_have_text("Saved.")
    made = api(console, f"/api/v1/webhooks/{webhook_id}")
    assert made["headers"] == {"X-Ref": "{{id}}", "X-Api-Key": "***"}
    assert made["events"] == ["report"] and made["description"] == "CRM bookings"

    page.click("#state button:text-is('Disable')")
    expect(page.locator("#done")).to_contain_text("Disabled")
    assert api(console, f"/api/v1/webhooks/{webhook_id}")["enabled"] is False
    page.click("#state button:text-is('Enable')")
    expect(page.locator("#done")).to_contain_text("Enabled")

    page.fill("#rotate input[name=gracePeriodSeconds]", "soon")
    page.click("button:text-is('Rotate the secret')")
    expect(page.locator("#problem-rotate")).to_have_text(
        "gracePeriodSeconds: must be a whole number of seconds"
    )
    page.fill("#rotate input[name=gracePeriodSeconds]", "3600")
    page.click("button:text-is('Rotate the secret')")
    expect(page.locator("#new-secret")).to_contain_text("Secret rotated.")
    second = page.locator("#secret").inner_text()
    assert second.startswith("whsec_") and second != first
    page.reload()
    expect(page.locator("#summary")).to_contain_text("the previous secret signs too until")
    assert page.locator("#new-secret").count() == 0 and second not in page.content()

    page.click("button:text-is('Send a test event')")
    expect(page.locator("#done")).to_contain_text("A test event is queued.")
    deadline = time.monotonic() + WAIT / 1000
    while not (got := [r for r in console.receiver.received if r.path == "/managed"]):
        assert time.monotonic() < deadline, "the test event did not arrive"
        time.sleep(0.1)
    assert got[0].json()["test"] == "true" and got[0].headers["X-Api-Key"] == "k-1"
    assert signed_by(second, got[0]) and signed_by(first, got[0])  # the grace: both
    page.screenshot(path=str(screenshots / "webhook-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(screenshots / "webhook-390.png"), full_page=True)
    page.click("text=See it in the deliveries")
    expect(page.locator("select[name=endpoint]")).to_have_value(webhook_id)
    expect(page.locator("tr.delivery")).to_have_count(1)
    expect(page.locator("tr.delivery .state.test")).to_have_text("test")
    expect(page.locator("tr.delivery .endpoint")).to_have_text(f"CRM bookings ({webhook_id})")
    page.screenshot(path=str(screenshots / "deliveries-endpoint-390.png"), full_page=True)
    assert no_horizontal_scroll(page)

    page.goto("/console/webhooks")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(screenshots / "webhooks-stored-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshots / "webhooks-stored-1280.png"), full_page=True)

    refused = page.request.post(f"/console/webhooks/{webhook_id}/delete", form={"x": "1"})
    assert refused.status == 403
    refused = page.request.post("/console/webhooks", form={"url": f"{console.hooks}/x"})
    assert refused.status == 403
    assert [w["webhookId"] for w in api(console, "/api/v1/webhooks")["webhooks"]] == [webhook_id]

    page.goto(f"/console/webhooks/{webhook_id}")
    page.click("text=Delete…")
    expect(page.locator("h1")).to_have_text("Delete webhook CRM bookings?")
    page.click("#confirm-delete")
    expect(page.locator("#deleted")).to_contain_text(webhook_id)
    assert page.locator(f"#endpoint-{webhook_id}").count() == 0
    assert api(console, "/api/v1/webhooks")["webhooks"] == []
