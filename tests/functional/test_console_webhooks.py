"""The console's webhooks forms over HTTP (issue 27 page 3, on issue 25's service): the
secret shown once, every form's error path answered with the API's message naming the
field (never a 500), edits that keep masked values, tenancy, CSRF, no secret_key, the
deliveries' endpoint filter. The browser tests drive the same pages in Chromium."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from flowhooks.storage import endpoints as store
from flowhooks.web import keys as appkeys
from tests.conftest import NEUTRAL, ClientFactory, envelope
from tests.functional.test_console import ADMIN, conf, csrf_of, sign_in

Client = TestClient[Any, Any]
XSS = "<script>alert(1)</script>"
FORM = {
    "url": "https://hooks.example/crm?call={{id}}&token=tok-123",
    "events": "call_status",
    "description": "CRM",
    "username": "crm",
    "password": "pass-456",
    "headers": "X-Call: {{id}}\nX-Api-Key: key-789",
    "body": '{"call": "{{id}}", "status": "{{status}}"}',
}
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


async def api(client: Client, method: str, path: str, token: str = "acme-token", **kw: Any) -> Any:
    resp = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def created(client: Client, token: str, form: dict[str, str] | None = None) -> str:
    """Create through the page; the new webhook's id (its page's address)."""
    resp = await client.post(
        "/console/webhooks", data={"csrf": token, **(form or FORM)}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert re.fullmatch(r"/console/webhooks/whk_[A-Za-z0-9_-]+", location), location
    return location.rsplit("/", 1)[1]


def problem_of(text: str, form: str) -> str:
    found = re.search(rf'<p class="problem" role="alert" id="problem-{form}">([^<]*)</p>', text)
    assert found, text[:3000]
    return html.unescape(found.group(1))


async def test_a_webhook_made_from_the_form_shows_its_secret_once(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    page = await (await client.get("/console/webhooks")).text()
    assert 'id="create"' in page and 'name="events" value="report"' in page
    webhook_id = await created(client, token)
    resp = await client.get(f"/console/webhooks/{webhook_id}")
    text = await resp.text()
    assert resp.status == 200 and 'id="new-secret"' in text
    shown = SECRET.findall(text)
    assert len(shown) == 1
    row = await store.get(client.app[appkeys.DB], "acme", webhook_id)
    assert row is not None
    assert client.app[appkeys.ENDPOINTS].vault.open(row["secret_sealed"]) == shown[0]
    assert resp.cookies["flowhooks_new_secret"].value == ""  # the page took it
    again = await (await client.get(f"/console/webhooks/{webhook_id}")).text()
    assert SECRET.search(again) is None and 'id="new-secret"' not in again
    for path in ("/console/webhooks", "/console/deliveries", f"/console/webhooks/{webhook_id}"):
        text = await (await client.get(path)).text()
        assert shown[0] not in text and "pass-456" not in text, path
        assert "tok-123" not in text and "key-789" not in text, path  # masked as the API
    status, made = await api(client, "GET", f"/api/v1/webhooks/{webhook_id}")
    assert status == 200
    assert made["events"] == ["call_status"] and made["description"] == "CRM"
    assert made["basicAuth"] == {"username": "crm", "password": "***"}
    assert made["headers"] == {"X-Call": "{{id}}", "X-Api-Key": "***"}
    assert made["url"] == "https://hooks.example/crm?call={{id}}&token=***"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"url": "ftp://hooks.example/x"}, "url", "url: "),
        ({"url": "http://127.0.0.1:8090/x"}, "url", "url: 127.0.0.1 is a private"),
        ({"url": ""}, "url", "url: missing or empty"),
        ({"events": ""}, "events", "events: must be a non-empty list of call_status, report"),
        ({"body": '{"call": {{id}}'}, "body", "body: "),
        ({"headers": "X-Call {{id}}"}, "headers", "headers: line 1: write one header a line"),
        ({"headers": "Content-Type: text/plain"}, "headers", "headers: Content-Type is set"),
        ({"password": ""}, "password", "basicAuth.password: must be 1 to 200 characters"),
        ({"secret": "not-a-secret"}, "secret", "secret: "),
        ({"description": "x" * 501}, "description", "description: longer than 500"),
    ],
)
async def test_a_wrong_field_answers_the_apis_message_next_to_the_form(
    make_client: ClientFactory, change: dict[str, str], field: str, message: str
) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    form = {"csrf": token, **FORM, **change}
    resp = await client.post("/console/webhooks", data={k: v for k, v in form.items() if v})
    text = await resp.text()
    assert resp.status == 422
    assert problem_of(text, "create").startswith(message)
    if field == "events":
        assert '<fieldset aria-invalid="true"' in text
    else:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', text), field
    assert '<details class="card" id="new-webhook" open>' in text
    if field != "url":  # what was typed is kept, but never the password or the secret
        assert 'value="https://hooks.example/crm?call={{id}}&amp;token=tok-123"' in text
    assert "pass-456" not in text
    assert (await api(client, "GET", "/api/v1/webhooks"))[1]["webhooks"] == []


async def test_at_the_limit_a_create_is_409_and_the_form_says_so(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(extra="[delivery]\nmax_endpoints_per_client = 1"))
    token = await sign_in(client)
    await created(client, token)
    resp = await client.post("/console/webhooks", data={"csrf": token, **FORM})
    assert resp.status == 409
    assert problem_of(await resp.text(), "create") == "a client may have at most 1 webhooks"
    text = await (await client.get("/console/webhooks")).text()
    assert 'id="at-limit"' in text and 'id="create"' not in text


async def test_without_a_secret_key_the_page_says_so_instead_of_the_form(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(key=None))
    token = await sign_in(client)
    text = await (await client.get("/console/webhooks")).text()
    assert 'id="no-secret-key"' in text and "secret_key" in text and 'id="create"' not in text
    resp = await client.post("/console/webhooks", data={"csrf": token, **FORM})
    assert resp.status == 503
    assert "secret_key is not set" in problem_of(await resp.text(), "create")


async def test_an_edit_changes_what_was_changed_and_keeps_what_was_shown_masked(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token)
    db, path = client.app[appkeys.DB], f"/console/webhooks/{webhook_id}"
    before = await store.get(db, "acme", webhook_id)
    text = await (await client.get(path)).text()
    shown = form_values(text, "edit")
    assert shown["url"] == "https://hooks.example/crm?call={{id}}&token=***"
    assert shown["headers"] == "X-Call: {{id}}\nX-Api-Key: ***" and shown["password"] == ""
    resp = await client.post(path, data=posted(token, shown), allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == f"{path}?done=unchanged"
    edited = {**shown, "description": "CRM, new", "url": shown["url"].replace("crm?", "crm2?")}
    edited["headers"] += "\nX-Extra: 1"
    resp = await client.post(path, data=posted(token, edited), allow_redirects=False)
    assert resp.headers["Location"] == f"{path}?done=saved"
    after = await store.get(db, "acme", webhook_id)
    assert before is not None and after is not None
    assert after["url"] == "https://hooks.example/crm2?call={{id}}&token=tok-123"
    assert after["headers"] == {"X-Call": "{{id}}", "X-Api-Key": "key-789", "X-Extra": "1"}
    assert after["description"] == "CRM, new" and after["secret_sealed"] == before["secret_sealed"]
    assert after["password_sealed"] == before["password_sealed"]  # an empty password: kept
    resp = await client.post(path, data=posted(token, {**edited, "body": "{nope"}))
    text = await resp.text()
    assert resp.status == 422 and problem_of(text, "edit").startswith("body: ")
    assert 'id="problem-create"' not in text and "{nope" in text  # what was typed, kept
    resp = await client.post(path, data=posted(token, {**edited, "username": "crm2"}))
    assert resp.status == 422  # a new user name needs the password again
    assert problem_of(await resp.text(), "edit").startswith("basicAuth.password: ")
    no_auth = {**edited, "username": ""}
    resp = await client.post(path, data=posted(token, no_auth), allow_redirects=False)
    assert resp.status == 303
    assert (await api(client, "GET", f"/api/v1/webhooks/{webhook_id}"))[1]["basicAuth"] is None


def form_values(text: str, form_id: str) -> dict[str, Any]:
    """The inputs, checked boxes and textareas of the form in the card ``form_id``."""
    card = text.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    inputs = r'<input type="(?:text|password)"[^>]*name="(\w+)" value="([^"]*)"'
    found: dict[str, Any] = {
        m.group(1): html.unescape(m.group(2)) for m in re.finditer(inputs, card)
    }
    for m in re.finditer(r'<textarea name="(\w+)"[^>]*>([^<]*)</textarea>', card):
        found[m.group(1)] = html.unescape(m.group(2))
    found["events"] = re.findall(r'name="events" value="(\w+)" checked', card)
    return found


def posted(token: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """A form's values as a browser posts them (a list: one pair a checked box)."""
    pairs = [("csrf", token)]
    for name, value in values.items():
        pairs += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return pairs


async def test_disable_enable_rotate_test_and_delete_from_the_page(
    make_client: ClientFactory,
) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token)
    path = f"/console/webhooks/{webhook_id}"
    first = SECRET.findall(await (await client.get(path)).text())[0]

    async def post(tail: str, **form: str) -> Any:
        return await client.post(path + tail, data={"csrf": token, **form}, allow_redirects=False)

    assert (await post("/disable")).headers["Location"] == f"{path}?done=disabled"
    assert (await api(client, "GET", f"/api/v1/webhooks/{webhook_id}"))[1]["enabled"] is False
    text = await (await client.get(f"{path}?done=disabled")).text()
    assert "Disabled: its deliveries wait" in text and 'action="' + path + '/enable"' in text
    assert (await post("/enable")).headers["Location"] == f"{path}?done=enabled"
    assert (await api(client, "GET", f"/api/v1/webhooks/{webhook_id}"))[1]["enabled"] is True

    for grace, message in [
        ("soon", "gracePeriodSeconds: must be a whole number of seconds"),
        ("700000", "gracePeriodSeconds: must be from 0 to 604800"),
        ("-1", "gracePeriodSeconds: must be from 0 to 604800"),
    ]:
        resp = await post("/rotate", gracePeriodSeconds=grace)
        assert resp.status == 422
        assert problem_of(await resp.text(), "rotate") == message
    resp = await post("/rotate", gracePeriodSeconds="3600")
    assert resp.headers["Location"] == path
    text = await (await client.get(path)).text()
    [second] = SECRET.findall(text)
    assert second != first and "Secret rotated." in text
    assert "The previous secret still signs too until 2026-11-23 07:30:00 +0000" in text
    assert SECRET.search(await (await client.get(path)).text()) is None

    resp = await post("/test", event="report")
    assert resp.status == 422
    assert problem_of(await resp.text(), "test") == (
        "event: must be one this webhook takes: call_status"
    )
    resp = await post("/test", event="call_status")
    assert resp.headers["Location"].startswith(f"{path}?done=tested&delivery=")
    text = await (await client.get(f"/console/deliveries?endpoint={webhook_id}")).text()
    assert text.count('class="delivery"') == 1 and '<span class="state test">test</span>' in text
    assert "CRM (whk_" in text  # its endpoint, by description and id

    confirm = await (await client.get(f"{path}/delete")).text()
    assert 'id="confirm-delete"' in confirm and f'action="{path}/delete"' in confirm
    resp = await post("/delete")
    assert resp.headers["Location"] == f"/console/webhooks?deleted={webhook_id}"
    assert (await client.get(path)).status == 404
    assert (await post("/delete")).status == 404
    text = await (await client.get(f"/console/deliveries?endpoint={webhook_id}")).text()
    assert "(deleted)" in text and "the webhook was deleted" in text


async def test_another_clients_webhook_is_404_and_the_operator_acts_through_the_picker(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    client = await make_client(conf(db), now=NEUTRAL)
    status, made = await api(
        client, "POST", "/api/v1/webhooks", "other-token", json={"url": "https://o.example/h"}
    )
    assert status == 201
    theirs = f"/console/webhooks/{made['webhookId']}"
    token = await sign_in(client)
    assert (await client.get(theirs)).status == 404
    assert (await client.get(f"{theirs}/delete")).status == 404
    for tail in ("", "/disable", "/enable", "/rotate", "/test", "/delete"):
        resp = await client.post(theirs + tail, data={"csrf": token, **FORM})
        assert resp.status == 404, tail
        assert "There is no such page for this client." in await resp.text()
    status, still = await api(client, "GET", f"/api/v1/webhooks/{made['webhookId']}", "other-token")
    assert status == 200 and still["enabled"] is True and still["url"] == "https://o.example/h"
    assert made["webhookId"] not in await (await client.get("/console/webhooks")).text()
    resp = await client.post("/console/webhooks", data={**FORM})  # no CSRF token
    assert resp.status == 403
    assert (await api(client, "GET", "/api/v1/webhooks"))[1]["webhooks"] == []

    operator = await make_client(conf(db), now=NEUTRAL)
    token = await sign_in(operator, ADMIN)
    await operator.post("/console/client", data={"csrf": token, "client": "other", "next": "/"})
    assert made["webhookId"] in await (await operator.get("/console/webhooks")).text()
    resp = await operator.post(f"{theirs}/disable", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303
    status, still = await api(client, "GET", f"/api/v1/webhooks/{made['webhookId']}", "other-token")
    assert still["enabled"] is False


async def test_a_description_with_markup_stays_text(make_client: ClientFactory) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token, {**FORM, "description": XSS})
    await client.post(f"/console/webhooks/{webhook_id}/test", data={"csrf": token})
    for path in (
        "/console/webhooks",
        f"/console/webhooks/{webhook_id}",
        f"/console/webhooks/{webhook_id}/delete",
        "/console/deliveries",
    ):
        text = await (await client.get(path)).text()
        assert XSS not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path


async def test_a_forged_or_foreign_secret_cookie_shows_nothing(make_client: ClientFactory) -> None:
    client = await make_client(conf(), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token)
    page = f"/console/webhooks/{webhook_id}"
    assert SECRET.search(await (await client.get(page)).text())  # its own: shown, taken
    resp = await client.post(
        "/console/webhooks", data={"csrf": token, **FORM}, allow_redirects=False
    )
    sealed = resp.cookies["flowhooks_new_secret"]
    assert sealed["path"] == resp.headers["Location"] and sealed["httponly"]
    assert SECRET.search(sealed.value) is None  # sealed, not in clear
    for value in (sealed.value, "forged"):  # another webhook's, or nonsense
        resp = await client.get(page, cookies={"flowhooks_new_secret": value})
        assert resp.status == 200 and SECRET.search(await resp.text()) is None


@pytest.mark.parametrize("value", ["nope", "whk_", "url:xyz", "call_status"])
async def test_a_deliveries_endpoint_filter_that_is_no_endpoint_is_a_400(
    make_client: ClientFactory, value: str
) -> None:
    client = await make_client(conf())  # acme has no config hook: call_status is none
    await sign_in(client)
    resp = await client.get("/console/deliveries", params={"endpoint": value})
    assert resp.status == 400
    message = re.search(r'<p id="message">([^<]*)</p>', await resp.text())
    assert message is not None and message.group(1).startswith("endpoint: must be")


async def test_the_deliveries_filter_offers_config_hooks_and_webhooks_by_description(
    make_client: ClientFactory,
) -> None:
    hook = '[clients.acme.webhooks.report]\nurl = "https://hooks.example/r?id={{id}}"'
    client = await make_client(conf(extra=hook), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token)
    text = await (await client.get("/console/deliveries")).text()
    select = text.split('name="endpoint"', 1)[1].split("</select>", 1)[0]
    assert '<option value="report">report (config)</option>' in select
    assert f'<option value="{webhook_id}">CRM ({webhook_id})</option>' in select
    text = await (await client.get(f"/console/deliveries?endpoint={webhook_id}")).text()
    assert f'<option value="{webhook_id}" selected>' in text
    assert csrf_of(text) == token


async def test_retry_all_dead_of_one_endpoint_from_the_deliveries_page(
    make_client: ClientFactory,
) -> None:
    """The filter's endpoint is passed on: only that endpoint's dead ones are retried."""
    from flowhooks.storage import outbox
    from flowhooks.webhooks.retry import Decision

    hook = '[clients.acme.webhooks.report]\nurl = "https://hooks.example/r?id={{id}}"'
    client = await make_client(conf(extra=hook), now=NEUTRAL)
    token = await sign_in(client)
    webhook_id = await created(client, token, {**FORM, "events": "report"})
    resp = await client.post("/webhook", json=envelope("pullreport", clientID="acme"))
    assert resp.status == 200  # one event: a delivery to the hook and one to the webhook
    db, later = client.app[appkeys.DB], NEUTRAL + timedelta(minutes=1)
    grants = {("acme", "report"): 10, ("acme", webhook_id): 10}
    for claimed in await outbox.claim(db, grants, "t", NEUTRAL, later):
        await outbox.finish(db, claimed, "t", Decision("dead", None, "HTTP 500"), 500, NEUTRAL)
    form = {"csrf": token, "state": "dead", "endpoint": webhook_id}
    resp = await client.post("/console/deliveries/retry-dead", data=form)
    text = await resp.text()
    assert resp.status == 200 and "1 delivery queued again" in text
    dead = await outbox.listing(db, "acme", state="dead", event=None, limit=10, before=None)
    assert [d["endpoint"] for d in dead] == ["report"]
