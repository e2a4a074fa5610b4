"""The console's traces page and the client's home charts over HTTP (issues 26, 27): a
flow's envelopes listed newest first and filtered as the API filters them, keyset
pages, a trace's keys with secrets "***", a call's envelopes in order, the export as
the API's JSONL, escaping, tenancy, bad filters named; the client's home counts its
traces. The browser tests drive the same pages in Chromium."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
from aiohttp.test_utils import TestClient

from flowhooks.clock import FixedClock
from flowhooks.web import keys as appkeys
from tests.conftest import NEUTRAL, ClientFactory, envelope
from tests.functional.test_console import ADMIN, conf, sign_in

SECRET = "a" * 64
XSS = "<script>alert(1)</script>"
NOW = NEUTRAL.isoformat()  # 2026-11-23T12:00:00+05:30, a Monday


async def post(client: TestClient[Any, Any], doc: dict[str, Any], now: str = NOW) -> Any:
    resp = await client.post("/webhook", json=doc, headers={"X-Flowhooks-Now": now})
    return await resp.json()


async def flow(client: TestClient[Any, Any]) -> None:
    """One call's envelopes (call key CA-1) and others, written to the database."""
    at = NEUTRAL
    await post(
        client,
        envelope("validateDateTime", clientID="acme", callId="CA-1", cli="98765 43210",
                 inputDate="25-12-2026", inputTime="11:00"),
        at.isoformat(),
    )  # fmt: skip
    await post(
        client,
        envelope("createOutbound", apiVersion="1.0", securityID=SECRET, flowID="ab12cd34",
                 clientID="acme", callId="CA-1", contactNumbers="9876543210",
                 delayMinutes="600"),
        (at + timedelta(seconds=20)).isoformat(),
    )  # fmt: skip
    await post(
        client,
        envelope("updateUserPreferences", clientID="acme", callId="CA-1", cli="9876543210",
                 **{"$user.key.language": "ta", "$user.key.note": XSS}),
        (at + timedelta(seconds=40)).isoformat(),
    )  # fmt: skip
    await post(
        client,
        envelope("validateDateTime", clientID="acme", cli="9123456780"),  # no inputDate: 422
        (at + timedelta(minutes=5)).isoformat(),
    )  # fmt: skip
    await post(
        client,
        envelope("validateDateTime", clientID="other", cli="9876543210", inputDate="tomorrow"),
        (at + timedelta(minutes=6)).isoformat(),
    )  # fmt: skip
    await client.app[appkeys.TRACES].flush()


def rows(text: str) -> list[str]:
    """The requestIds of the traces table's rows, in order."""
    return re.findall(r'<tr class="trace" data-id="([^"]+)">', text)


def methods_of(text: str) -> list[str]:
    """The methods of the traces table's rows, in order."""
    rows = re.findall(r'<tr class="trace".*?</tr>', text, re.S)
    return [re.findall(r'<td class="method">([^<]*)', row)[0] for row in rows]


async def page(client: TestClient[Any, Any], path: str, status: int = 200) -> str:
    resp = await client.get(path)
    text = await resp.text()
    assert resp.status == status, (path, text[:800])
    return text


@pytest.fixture
async def acme(make_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    client = await make_client(conf(tmp_path / "t.db"), now=NEUTRAL)
    await flow(client)
    await sign_in(client)
    return client


async def test_a_flows_envelopes_newest_first_filtered_as_the_api_filters(
    acme: TestClient[Any, Any],
) -> None:
    text = await page(acme, "/console/traces")
    assert methods_of(text) == [
        "validateDateTime",
        "updateUserPreferences",
        "createOutbound",
        "validateDateTime",
    ]  # newest first; not the other client's
    assert 'data-id="' in text and "Content-Security-Policy" not in text
    for query, expected in [
        ("cli=%2B91+98765-43210", ["updateUserPreferences", "validateDateTime"]),  # any format
        ("method=VALIDATEDATETIME", ["validateDateTime", "validateDateTime"]),  # any case
        ("status=failed", ["validateDateTime"]),
        ("errorCode=INVALID_KEYS", ["validateDateTime"]),
        ("callKey=CA-1", ["updateUserPreferences", "createOutbound", "validateDateTime"]),
        ("from=2026-11-23T06:31&to=2026-11-23T06:40", ["validateDateTime"]),  # the client zone, UTC
        ("from=2026-11-23T06:31:00%2B00:00", ["validateDateTime"]),  # or with an offset
        ("method=translateText", []),
    ]:
        found = methods_of(await page(acme, f"/console/traces?{query}"))
        assert found == expected, query
    assert "No traces of this filter." in await page(acme, "/console/traces?method=translateText")


async def test_keyset_pages_newest_first(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await make_client(conf(tmp_path / "t.db", console="page_size = 5"), now=NEUTRAL)
    for i in range(12):
        at = (NEUTRAL + timedelta(seconds=i)).isoformat()
        await post(
            client, envelope("validateDateTime", clientID="acme", inputDate=f"{i + 1}-12-2026"), at
        )
    await client.app[appkeys.TRACES].flush()
    await sign_in(client)
    seen: list[str] = []
    path: str | None = "/console/traces"
    while path is not None:
        text = await page(client, path)
        seen += rows(text)
        older = re.search(r'<a href="([^"]+)" rel="next">', text)
        path = html.unescape(older.group(1)) if older else None
        assert path is None or ("cursor=" in path and "offset" not in path.lower())
    assert len(seen) == len(set(seen)) == 12
    assert "⇤ Newest" not in await page(client, "/console/traces")


async def test_a_traces_page_shows_its_keys_with_secrets_redacted(
    acme: TestClient[Any, Any],
) -> None:
    text = await page(acme, "/console/traces?method=createOutbound")
    (request_id,) = rows(text)
    trace = await page(acme, f"/console/traces/{request_id}")
    assert SECRET not in trace
    sent = re.search(r'<table id="request-keys".*?</table>', trace, re.S)
    assert sent is not None
    cells = re.findall(r'<td class="mono long">([^<]*)</td>', sent.group(0))
    assert dict(zip(cells[::2], cells[1::2], strict=True))["securityID"] == "***"
    answered = re.search(r'<table id="answer-keys".*?</table>', trace, re.S)
    assert answered is not None and "$flow.key.obdReqID" in answered.group(0)
    assert '<span id="http">200</span>' in trace and "SUCCESS" in trace
    assert f"/console/traces/{request_id}/call" in trace


async def test_a_value_holding_a_script_stays_text(acme: TestClient[Any, Any]) -> None:
    (request_id,) = rows(await page(acme, "/console/traces?method=updateUserPreferences"))
    for path in (f"/console/traces/{request_id}", f"/console/traces/{request_id}/call"):
        text = await page(acme, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and XSS not in text, path


async def test_a_calls_envelopes_in_order_by_call_key_or_by_caller_around_its_time(
    acme: TestClient[Any, Any],
) -> None:
    first = rows(await page(acme, "/console/traces?callKey=CA-1"))[-1]
    text = await page(acme, f"/console/traces/{first}/call")
    order = re.findall(r'<li class="envelope[^"]*">.*?<strong>([^<]+)</strong>', text, re.S)
    assert order == ["validateDateTime", "createOutbound", "updateUserPreferences"]
    assert re.search(r"<h1>Call <span class=\"mono\">CA-1</span></h1>", text)
    assert "this trace" in re.findall(r'<li class="envelope here">.*?</li>', text, re.S)[0]
    export = re.search(r'id="export" href="([^"]+)"', text)
    assert export is not None and "callKey=CA-1" in html.unescape(export.group(1))
    # no call key: the caller's envelopes within 30 minutes either side
    (alone,) = rows(await page(acme, "/console/traces?errorCode=INVALID_KEYS"))
    text = await page(acme, f"/console/traces/{alone}/call")
    assert 'Call <span class="mono">of +919123456780 around 06:35</span>' in text  # UTC
    assert "from 30 minutes before to 30 minutes after this one" in text
    assert len(re.findall(r'<li class="envelope', text)) == 1


async def test_the_export_is_the_apis_jsonl_for_the_same_filter(
    acme: TestClient[Any, Any],
) -> None:
    text = await page(acme, "/console/traces?callKey=CA-1&from=2026-11-23T05:30")
    link = re.search(r'id="export" href="([^"]+)"', text)
    assert link is not None
    href = html.unescape(link.group(1))
    assert "from=2026-11-23T05%3A30%3A00%2B00%3A00" in href  # as the API reads it
    resp = await acme.get(href)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/x-ndjson"
    assert 'filename="traces.jsonl"' in resp.headers["Content-Disposition"]
    body = await resp.read()
    api = await acme.get(
        "/api/v1/traces/export",
        params={"callKey": "CA-1", "from": "2026-11-23T05:30:00+00:00"},
        headers={"Authorization": "Bearer acme-token"},
    )
    assert body == await api.read()
    cases = [orjson.loads(line) for line in body.splitlines()]
    assert [c["request"]["method"] for c in cases] == [
        "validateDateTime",
        "createOutbound",
        "updateUserPreferences",
    ]
    sent = {k["name"]: k["value"] for k in cases[1]["request"]["keys"]}
    assert sent["securityID"] == "***"
    # a time typed without an offset: sent on as the API reads it
    resp = await acme.get("/console/traces.jsonl?from=2026-11-23T05:30", allow_redirects=False)
    assert resp.status == 303
    assert unquote(resp.headers["Location"]).endswith(
        "from=2026-11-23T05:30:00+00:00&format=replay"
    )


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("cli=not-a-number", "cli"),
        ("status=maybe", "status"),
        ("from=yesterday", "from"),
        ("to=20261-01-01T00:00", "to"),
        ("from=2026-11-23T12:00&to=2026-11-23T11:00", "from"),
        ("cursor=abc", "cursor"),
        ("callKey=" + "k" * 129, "callKey"),
        ("errorCode=%01", "errorCode"),
    ],
)
async def test_a_bad_filter_is_a_400_page_naming_it(
    acme: TestClient[Any, Any], query: str, name: str
) -> None:
    paths = ["/console/traces"] + (["/console/traces.jsonl"] if name != "cursor" else [])
    for path in paths:
        text = await page(acme, f"{path}?{query}", 400)
        message = re.search(r'<p id="message">([^<]*)</p>', text)
        assert message is not None, text[:800]
        assert message.group(1).startswith(f"{name}: ") and f"{name}: {name}:" not in text


async def test_another_clients_trace_is_404_and_the_operator_picks_the_client(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(conf(tmp_path / "t.db"), now=NEUTRAL)
    await flow(client)
    operator = await make_client(conf(tmp_path / "t.db"), now=NEUTRAL)
    token = await sign_in(operator, ADMIN)
    await operator.post(
        "/console/client", data={"csrf": token, "client": "other", "next": "/console/traces"}
    )
    (theirs,) = rows(await page(operator, "/console/traces"))
    assert "inputDate" in await page(operator, f"/console/traces/{theirs}")
    await sign_in(client)
    assert theirs not in await page(client, "/console/traces")
    for path in (f"/console/traces/{theirs}", f"/console/traces/{theirs}/call"):
        assert "Not found" in await page(client, path, 404)
    await page(client, "/console/traces/no such id", 404)


async def test_the_clients_home_charts_its_traced_requests(acme: TestClient[Any, Any]) -> None:
    text = await page(acme, "/console")
    table = re.search(r'<section class="card wide" id="methods">.*?</section>', text, re.S)
    assert table is not None
    found = re.findall(
        r'<tr><td>(\w+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">([^<]+)</td>',
        table.group(0),
    )
    counts = {m: (int(ok), int(failed), int(error)) for m, ok, failed, error, _p50 in found}
    assert counts == {
        "validateDateTime": (1, 0, 1),
        "createOutbound": (1, 0, 0),
        "updateUserPreferences": (1, 0, 0),
    }  # the other client's envelope is not acme's
    assert all(p50.endswith(" ms") for *_, p50 in found)
    assert 'id="requests"' in text and 'id="latency"' in text and 'id="tracing"' not in text


@pytest.mark.parametrize(
    ("traces", "said"),
    [
        ("enabled = false", "Tracing is off"),
        ("sample_rate = 0.25", "Tracing is sampled ([traces] sample_rate): 25 % of calls"),
    ],
)
async def test_the_pages_say_when_tracing_is_off_or_sampled(
    make_client: ClientFactory, traces: str, said: str
) -> None:
    client = await make_client(conf(extra=f"[traces]\n{traces}"), now=NEUTRAL)
    await sign_in(client)
    for path in ("/console", "/console/traces"):
        text = await page(client, path)
        notice = re.search(r'<p class="notice" id="tracing">([^<]*)</p>', text)
        assert notice is not None and said in html.unescape(notice.group(1)), path


async def test_the_operators_home_still_counts_every_process(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await make_client(conf(tmp_path / "t.db"), now=NEUTRAL)
    await flow(client)
    await sign_in(client, ADMIN)
    text = await page(client, "/console")
    assert "counts are written by each process once a minute" in text
    assert "No envelope requests in the last 24 hours." in text  # the counters, not traces
    assert 'id="made"' not in text


async def test_the_home_reads_an_hour_that_is_over_once(
    make_client: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hours over (a minute after their end) are read once a process; open ones at
    each view, so a new trace shows at once."""
    from flowhooks.console import home
    from flowhooks.storage import stats

    asked: list[tuple[datetime, datetime | None]] = []
    real = stats.traced_since

    async def traced_since(
        db: Any, client: str, since: datetime, until: datetime | None = None
    ) -> Any:
        asked.append((since, until))
        return await real(db, client, since, until)

    monkeypatch.setattr(stats, "traced_since", traced_since)
    client = await make_client(conf(tmp_path / "t.db"), now=NEUTRAL)  # 06:30 UTC
    for at in (NEUTRAL - timedelta(hours=3), NEUTRAL):
        await post(
            client,
            envelope("validateDateTime", clientID="acme", inputDate="tomorrow"),
            at.isoformat(),
        )
    await client.app[appkeys.TRACES].flush()
    await sign_in(client)

    def counted(text: str) -> int:
        found = re.search(r'<tr><td>validateDateTime</td><td class="num">(\d+)</td>', text)
        return int(found.group(1)) if found else 0

    hour = NEUTRAL.astimezone(UTC).replace(minute=0)  # 06:00 UTC, open
    assert counted(await page(client, "/console")) == 2
    ended = [hour - timedelta(hours=23 - i) for i in range(23)]  # an hour at a time
    assert asked == [*((h, h + home.HOUR) for h in ended), (hour, hour + home.HOUR)]
    asked.clear()
    await post(client, envelope("validateDateTime", clientID="acme", inputDate="tomorrow"))
    await client.app[appkeys.TRACES].flush()
    assert counted(await page(client, "/console")) == 3  # the open hour is read again
    assert asked == [(hour, hour + home.HOUR)]
    asked.clear()
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = NEUTRAL + timedelta(minutes=31)  # 07:01 UTC: 06:00 is over
    assert counted(await page(client, "/console")) == 3
    later = hour + home.HOUR
    assert asked == [(hour, later), (later, later + home.HOUR)]
