"""The README's first-screen curl answers as printed, with the shipped config."""

from __future__ import annotations

import json
import re

from flowhooks import settings
from tests.conftest import ROOT, ClientFactory, answer_keys
from tests.fakes import wait_for


async def test_readme_curl_answers_as_printed(make_client: ClientFactory) -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("```console\n$ curl", 1)[1].split("```", 1)[0]
    sent = json.loads(re.search(r"-d '(.*?)'", block, re.S).group(1))  # type: ignore[union-attr]
    now = re.search(r"X-Flowhooks-Now: ([^']+)'", block).group(1)  # type: ignore[union-attr]
    printed = dict(re.findall(r'\{"name":"([^"]+)","value":"([^"]*)"\}', block))
    assert len(printed) == 11
    conf = settings.load(ROOT / "config" / "flowhooks.toml", env={})
    conf = conf.model_copy(update={"storage": settings.StorageSettings(url="sqlite:///:memory:")})
    client = await make_client(conf)
    resp = await client.post("/webhook", json=sent, headers={"X-Flowhooks-Now": now})
    assert resp.status == 200
    assert answer_keys(await resp.json()) == printed


async def test_readme_create_outbound_goes_all_the_way_with_the_shipped_config(
    make_client: ClientFactory,
) -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("### createOutbound", 1)[1].split("```console\n$ curl", 1)[1]
    sent = json.loads(re.search(r"-d '(.*?)'", block, re.S).group(1))  # type: ignore[union-attr]
    token = re.search(r"Authorization: Bearer ([^']+)'", block).group(1)  # type: ignore[union-attr]
    conf = settings.load(ROOT / "config" / "flowhooks.toml", env={})
    conf = conf.model_copy(update={"storage": settings.StorageSettings(url="sqlite:///:memory:")})
    client = await make_client(conf)
    resp = await client.post("/webhook", json=sent)
    keys = answer_keys(await resp.json())
    assert keys["$flow.key.obdResponseCode"] == "200"
    assert keys["$flow.key.obdRejectedNumbers"] == "12345:invalid"
    url = f"/api/v1/outbound/{keys['$flow.key.obdReqID']}"

    async def completed() -> bool:
        view = await (await client.get(url, headers={"Authorization": f"Bearer {token}"})).json()
        return bool(view["calls"][0]["state"] == "completed")

    await wait_for(completed, timeout=30)
    view = await (await client.get(url, headers={"Authorization": f"Bearer {token}"})).json()
    moves = [h["toState"] for h in view["calls"][0]["history"] if h["kind"] == "state"]
    assert moves == ["queued", "dialing", "initiated", "completed"]


async def test_readme_webhook_example_arrives_signed_and_is_listed_delivered(
    make_client: ClientFactory,
) -> None:
    """The README's receiver, the shipped config, the README's createOutbound."""
    import importlib.util
    import threading
    from http.server import HTTPServer

    spec = importlib.util.spec_from_file_location(
        "example_receiver", ROOT / "scripts" / "example_receiver.py"
    )
    assert spec is not None and spec.loader is not None
    receiver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(receiver)
    conf = settings.load(ROOT / "config" / "flowhooks.toml", env={})
    hook = conf.clients["acme"].webhooks["call_status"]
    assert hook.secret is not None
    events: list[dict[str, object]] = []
    # the test's clock is pinned, so the receiver does not check the timestamp's age
    server = HTTPServer(
        ("127.0.0.1", 0), receiver.handler(hook.secret.get_secret_value(), False, events)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = hook.url.replace(":8090/", f":{server.server_address[1]}/")
        clients = dict(conf.clients)
        acme = clients["acme"]
        clients["acme"] = acme.model_copy(
            update={"webhooks": {"call_status": hook.model_copy(update={"url": url})}}
        )
        conf = conf.model_copy(
            update={
                "storage": settings.StorageSettings(url="sqlite:///:memory:"),
                "clients": clients,
            }
        )
        text = (ROOT / "README.md").read_text()
        block = text.split("### createOutbound", 1)[1].split("```console\n$ curl", 1)[1]
        sent = json.loads(re.search(r"-d '(.*?)'", block, re.S).group(1))  # type: ignore[union-attr]
        client = await make_client(conf)
        resp = await client.post("/webhook", json=sent)
        keys = answer_keys(await resp.json())
        await wait_for(lambda: events, timeout=30)
        assert events[0]["id"] == keys["$flow.key.obdPhononUUID"].split(",")[0]
        token = conf.clients["acme"].api_token
        assert token is not None
        auth = {"Authorization": f"Bearer {token.get_secret_value()}"}

        async def delivered() -> bool:
            listed = await (await client.get("/api/v1/deliveries", headers=auth)).json()
            return any(d["state"] == "delivered" for d in listed["deliveries"])

        await wait_for(delivered, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
