"""Flow traces (issue 26) on SQLite and PostgreSQL: a flow's envelopes kept with their
secrets "***" (and nowhere in the database in clear), searched by filter and keyset,
private to their client, exported as replay cases that replay green against the same
config and show a diff when the calendar changes; a full queue drops traces without
holding answers back; the retention job purges them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from flowhooks import replay
from flowhooks.envelope import Answer, parse
from flowhooks.methods.engine import Outcome
from flowhooks.settings import Settings
from flowhooks.storage import Storage, migrations
from flowhooks.storage import tables as t
from flowhooks.storage import traces as store
from flowhooks.traces import writer
from flowhooks.traces.record import Shaper, Tokens, capture
from flowhooks.traces.recorder import rules_of
from flowhooks.web import keys as appkeys
from flowhooks.workers.retention import purge_once
from tests.conftest import NEUTRAL, answer_keys, envelope
from tests.fakes import GOOGLE_KEY, GOOGLE_PATH, FakeGoogleTranslate, wait_for
from tests.outbound_conf import OTHER_TOKEN, SECRET, TOKEN, create, outbound_conf

CALL = "call-0001"
HOURS = '[calendars.default]\ntimezone = "Asia/Kolkata"\nhours = "{hours}"\n'


def traces_conf(db_url: str, google: str = "http://127.0.0.1:9", extra: str = "") -> Settings:
    return outbound_conf(
        db_url,
        extra=f"""
[translate]
endpoint = "{google}{GOOGLE_PATH}"
api_key = "{GOOGLE_KEY}"
{HOURS.format(hours="09:00-18:00")}
{extra}
""",
    )


async def get(client: Any, path: str = "", token: str = TOKEN, **params: str) -> Any:
    return await client.get(
        f"/api/v1/traces{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


async def traces(client: Any, token: str = TOKEN, **params: str) -> list[dict[str, Any]]:
    resp = await get(client, token=token, **params)
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    found: list[dict[str, Any]] = doc["traces"]
    return found


async def wait_traces(client: Any, count: int, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal found
        found = await traces(client, limit="1000", **params)
        return len(found) >= count

    for _ in range(500):  # the writer flushes every 250 ms; generous under load
        if await enough():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(found)} traces, waited for {count}")


async def post(client: Any, doc: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    headers = {"X-Flowhooks-Now": now} if now else {}
    resp = await client.post("/webhook", json=doc, headers=headers)
    body: dict[str, Any] = await resp.json()
    return body


async def a_flow(client: Any) -> list[dict[str, Any]]:
    """One call's envelopes: a date check, a callback booked, a text translated, a
    preference stored."""
    bodies = [
        await post(
            client,
            envelope(
                "validateDateTime",
                inputDate="25-12-2026",
                inputTime="11:00",
                clientID="acme",
                callId=CALL,
                cli="99797 46666",
            ),
        ),
        await post(client, create("9979746666", callId=CALL)),
        await post(
            client,
            envelope(
                "translateText",
                inputText="My name is John",
                sourceLang="English",
                targetLang="Hindi",
                apiKey=GOOGLE_KEY,
                clientID="acme",
                callId=CALL,
            ),
        ),
        await post(
            client,
            envelope(
                "updateUserPreferences",
                contactNumber="+91 99797 46666",
                clientID="acme",
                callId=CALL,
                **{"$user.key.lang": "hi"},
            ),
        ),
    ]
    return bodies


async def google(aiohttp_server: Any) -> str:
    server = await aiohttp_server(FakeGoogleTranslate().app())
    return str(server.make_url("")).rstrip("/")


async def database_text(db_url: str, tmp_path: Path) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or a dump of every
    PostgreSQL table."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(
            Path(f"{path}{suffix}").read_bytes()
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        )
    conn = await asyncpg.connect(db_url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        dump = []
        for row in tables:
            for record in await conn.fetch(f'SELECT t::text AS x FROM "{row[0]}" t'):
                dump.append(record["x"])
        return "\n".join(dump).encode()
    finally:
        await conn.close()


async def test_a_flow_is_traced_with_its_secrets_redacted_everywhere(
    make_client: Any, aiohttp_server: Any, db_url: str, tmp_path: Path
) -> None:
    client = await make_client(traces_conf(db_url, await google(aiohttp_server)))
    bodies = await a_flow(client)
    assert [b["status"] for b in bodies] == ["SUCCESS"] * 4, bodies
    found = await wait_traces(client, 4, callKey=CALL)
    assert [t_["method"] for t_ in found] == [
        "updateUserPreferences",
        "translateText",
        "createOutbound",
        "validateDateTime",
    ]  # newest first
    by_method = {t_["method"]: t_ for t_ in found}
    assert [t_["requestId"] for t_ in found] == [b["requestId"] for b in reversed(bodies)]
    outbound = by_method["createOutbound"]
    sent = {k["name"]: k["value"] for k in outbound["request"]["keys"]}
    assert sent["$flow.syskey.securityID"] == "***"
    assert sent["$flow.syskey.contactNumbers"] == "9979746666"
    assert outbound["cli"] == ""  # contactNumbers is not the caller
    assert outbound["httpStatus"] == 200 and outbound["status"] == "SUCCESS"
    answered = {k["name"]: k["value"] for k in outbound["answer"]["keys"]}
    assert answered == answer_keys(bodies[1])
    translated = {k["name"]: k["value"] for k in by_method["translateText"]["request"]["keys"]}
    assert translated["apiKey"] == "***" and translated["inputText"] == "My name is John"
    assert by_method["validateDateTime"]["cli"] == "+919979746666"
    assert by_method["updateUserPreferences"]["cli"] == "+919979746666"
    assert all(t_["callKey"] == CALL and t_["latencyMs"] >= 0 for t_ in found)
    assert all(t_["at"] for t_ in found) and not any(t_["cut"] for t_ in found)
    one = await get(client, f"/{outbound['requestId']}")
    assert one.status == 200 and await one.json() == outbound
    # nowhere in the database in clear
    stored = await database_text(db_url, tmp_path)
    assert b"securityID" in stored or b"securityid" in stored.lower()  # traces are there
    for secret in (SECRET, GOOGLE_KEY):
        assert secret.encode() not in stored, secret


def check(date: str, time: str, callid: str, cli: str = "99797 46666") -> dict[str, Any]:
    return envelope(
        "validateDateTime",
        inputDate=date,
        inputTime=time,
        clientID="acme",
        callId=callid,
        cli=cli,
    )


async def test_filters_and_keyset_paging_newest_first(make_client: Any, db_url: str) -> None:
    client = await make_client(traces_conf(db_url), now=NEUTRAL)  # a clock standing still
    sent = []
    for i in range(23):
        cli = "99797 46666" if i % 2 else "+91 98450 12345"
        doc = check("25-12-2026", "11:00" if i % 3 else "", f"call-{i % 4}", cli)
        when = (NEUTRAL + timedelta(minutes=i)).isoformat()
        sent.append(await post(client, doc, now=when))
    bad = await post(client, envelope("validateDateTime", clientID="acme", inputDate=""))
    assert bad["status"] == "FAILED"
    await wait_traces(client, 24)
    # every trace exactly once, newest first, across pages of 5
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        resp = await get(client, **params)
        doc = await resp.json()
        seen += doc["traces"]
        cursor = doc["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 24 and len({t_["requestId"] for t_ in seen}) == 24
    times = [t_["at"] for t_ in seen]
    assert times == sorted(times, reverse=True)
    assert seen[0]["requestId"] == sent[-1]["requestId"]  # pinned to NEUTRAL + 22 min
    # the same time (NEUTRAL): the later one first
    assert [t_["requestId"] for t_ in seen[-2:]] == [bad["requestId"], sent[0]["requestId"]]
    # filters, alone and together
    odd = await traces(client, cli="+919979746666", limit="100")
    assert len(odd) == 11 and {t_["cli"] for t_ in odd} == {"+919979746666"}
    assert len(await traces(client, cli="099797-46666", limit="100")) == 11  # any format
    assert len(await traces(client, callKey="call-1", limit="100")) == 6
    assert len(await traces(client, callKey="call-1", cli="9979746666", limit="100")) == 6
    failed = await traces(client, status="failed")
    assert [t_["errorCode"] for t_ in failed] == ["INVALID_KEYS"]
    assert failed[0]["httpStatus"] == 422
    assert len(await traces(client, errorCode="INVALID_KEYS")) == 1
    assert len(await traces(client, method="VALIDATEDATETIME", limit="100")) == 24
    assert await traces(client, method="createOutbound") == []
    since = (NEUTRAL + timedelta(minutes=20)).isoformat()
    until = (NEUTRAL + timedelta(minutes=22)).isoformat()
    window = await traces(client, **{"from": since, "to": until})
    assert [t_["requestId"] for t_ in window] == [s["requestId"] for s in sent[21:19:-1]]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "999999999999999999.1"}, "cursor"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-23T10:00:00"}, "from"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ({"to": "9999-12-31T23:59:59-14:00"}, "to"),
        ({"to": "9999-12-31T00:00:00Z"}, "to"),
        ({"from": "2026-11-24T00:00:00Z", "to": "2026-11-23T00:00:00Z"}, "from"),
        ({"status": "MAYBE"}, "status"),
        ({"cli": "abc"}, "cli"),
        ({"callKey": "x" * 129}, "callKey"),
        ({"errorCode": "A\x00B"}, "errorCode"),
        ({"method": "m" * 65}, "method"),
    ],
)
async def test_a_malformed_parameter_is_a_400_naming_it(
    make_client: Any, params: dict[str, str], named: str
) -> None:
    client = await make_client(traces_conf("sqlite:///:memory:"))
    listing_only = "cursor" in params or params.get("limit") == "1001"  # export: to 1,000,000
    for path in ("",) if listing_only else ("", "/export"):
        resp = await get(client, path, **params)
        assert resp.status == 400, (path, await resp.text())
        doc = await resp.json()
        assert doc["error"]["parameter"] == named and named in doc["error"]["message"]


async def test_a_client_sees_only_its_own_traces(make_client: Any, db_url: str) -> None:
    client = await make_client(traces_conf(db_url))
    mine = await post(client, check("25-12-2026", "11:00", "c-1"))
    theirs = await post(
        client, envelope("validateDateTime", clientID="fr", inputDate="25-12-2026", callId="c-1")
    )
    await wait_traces(client, 1)
    assert [t_["requestId"] for t_ in await traces(client)] == [mine["requestId"]]

    async def theirs_visible() -> bool:
        return [t_["requestId"] for t_ in await traces(client, token=OTHER_TOKEN)] == [
            theirs["requestId"]
        ]

    await wait_for(theirs_visible, timeout=20)
    assert (await get(client, f"/{mine['requestId']}", token=OTHER_TOKEN)).status == 404
    assert (await get(client, f"/{theirs['requestId']}")).status == 404
    assert (await get(client, "/nope")).status == 404
    for path in ("", f"/{mine['requestId']}", "/export"):
        assert (await client.get(f"/api/v1/traces{path}")).status == 401
        resp = await get(client, path, token="wrong")
        assert resp.status == 401
    export = await (await get(client, "/export", token=OTHER_TOKEN)).text()
    assert mine["requestId"] not in export and theirs["requestId"] in export


async def export(client: Any, **params: str) -> list[dict[str, Any]]:
    resp = await get(client, "/export", **params)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in (await resp.text()).splitlines()]


async def run_replay(path: Path, settings: Settings, **kw: Any) -> tuple[int, int, str]:
    out = io.StringIO()
    files = [replay.CaseFile.read(path)]
    async with replay.in_process(settings) as sender:
        passed, failed = await replay.replay(
            files, sender, out, config=replay.config_secrets(settings), **kw
        )
    return passed, failed, out.getvalue()


async def test_an_export_replays_green_and_shows_the_diff_of_a_new_calendar(
    make_client: Any, aiohttp_server: Any, db_url: str, tmp_path: Path
) -> None:
    conf = traces_conf(db_url, await google(aiohttp_server))
    client = await make_client(conf)
    bodies = await a_flow(client)
    await wait_traces(client, 4)
    cases = await export(client, callKey=CALL)
    assert [c["request"]["method"] for c in cases] == [
        "validateDateTime",
        "createOutbound",
        "translateText",
        "updateUserPreferences",
    ]  # oldest first: the order the flow sent them
    outbound = cases[1]
    assert outbound["trace"] == {"requestId": bodies[1]["requestId"], "client": "acme"}
    assert outbound["expect"]["http"] == 200 and outbound["expect"]["status"] == "SUCCESS"
    assert outbound["expect"]["keys"]["$flow.key.obdReqID"] == "*"  # made for that moment
    assert outbound["expect"]["keys"]["$flow.key.obdPhononUUID"] == "*"
    assert outbound["expect"]["keys"]["$flow.key.obdResponseCode"] == "200"
    secret = [k for k in outbound["request"]["keys"] if k["name"].endswith("securityID")]
    assert secret == [{"name": "$flow.syskey.securityID", "value": "***"}]
    assert cases[0]["now"] and cases[0]["expect"]["keys"]["$flow.key.outputTime"] == (
        "09:00 AM to 06:00 PM"
    )
    path = tmp_path / "flow.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    passed, failed, out = await run_replay(path, conf)
    assert (passed, failed) == (4, 0), out
    # the calendar's hours change: the replay names the answers that change
    later = traces_conf(db_url, conf.translate.model_extra["endpoint"].removesuffix(GOOGLE_PATH))
    later = later.model_copy(
        update={
            "calendars": {
                **later.calendars,
                "default": later.calendars["default"].model_copy(
                    update={"hours": later.calendars["calling"].hours}
                ),
            }
        }
    )
    passed, failed, out = await run_replay(path, later)
    assert (passed, failed) == (3, 1), out
    assert "FAIL validateDateTime +919979746666" in out
    assert (
        "$flow.key.outputTime: expected '09:00 AM to 06:00 PM', got '09:00 AM to 09:00 PM'" in out
    )
    # a secret the harness has no value for: skipped, not failed
    no_key = later.model_copy(
        update={"translate": later.translate.model_copy(update={"backend": None})}
    )
    passed, failed, out = await run_replay(path, no_key)
    assert "SKIP translateText" in out and "--secret apikey=VALUE" in out
    assert out.splitlines()[-1].endswith(", 1 skipped")
    passed, failed, out = await run_replay(path, no_key, secrets={"apikey": GOOGLE_KEY})
    assert "SKIP" not in out


async def test_long_values_are_cut_and_marked_and_their_case_is_skipped(
    make_client: Any, db_url: str, tmp_path: Path
) -> None:
    conf = traces_conf(db_url, extra="[traces]\nmax_value_chars = 16\n")
    client = await make_client(conf)
    await post(client, check("25-12-2026", "11:00", "call-long-" + "x" * 40))
    [found] = await wait_traces(client, 1)
    assert found["cut"] is True
    sent = {k["name"]: k["value"] for k in found["request"]["keys"]}
    assert sent["callId"] == "call-long-xxxxxx…[+34 chars cut]"
    assert found["callKey"] == "call-long-" + "x" * 40  # the call key is kept whole
    answered = {k["name"]: k["value"] for k in found["answer"]["keys"]}
    assert answered["$flow.key.outputDate"].endswith("chars cut]")
    [case] = await export(client)
    assert case["expect"]["keys"]["$flow.key.outputDate"] == "*"
    assert "callId was cut" in case["skip"]
    path = tmp_path / "cut.jsonl"
    path.write_text(json.dumps(case) + "\n")
    passed, failed, out = await run_replay(path, conf)
    assert (passed, failed) == (0, 0) and "SKIP" in out


@asynccontextmanager
async def traces_held(app: Any, db_url: str) -> AsyncIterator[None]:
    """The traces table locked for writing, as a database stalled under load would."""
    if db_url.startswith("sqlite"):
        async with app[appkeys.DB].write():
            yield
        return
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE traces IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_a_full_queue_drops_traces_without_holding_answers_back(
    make_client: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowhooks.traces")
    client = await make_client(traces_conf(db_url, extra="[traces]\nqueue_size = 5\n"))
    plain = envelope("validateDateTime", inputDate="25-12-2026", inputTime="11:00")
    await post(client, plain)  # the first one is written: the writer is running
    metrics = ""

    async def written(count: int) -> bool:
        nonlocal metrics
        metrics = await (await client.get("/metrics")).text()
        return metric(metrics, "flowhooks_traces_written_total") >= count

    await wait_for(lambda: written(1), timeout=20)
    async with traces_held(client.server.app, db_url):
        for _ in range(40):  # all answered while no trace can be written
            body = await post(client, plain)
            assert body["status"] == "SUCCESS"
        metrics = await (await client.get("/metrics")).text()
        dropped = metric(metrics, "flowhooks_traces_dropped_total")
        assert dropped >= 40 - 5 - 5  # at most a queue in the writer's hands, a queue waiting
    await wait_for(lambda: written(41 - dropped), timeout=20)
    assert metric(metrics, "flowhooks_traces_written_total") == 41 - dropped
    assert (await client.get("/readyz")).status == 200
    said = [r.getMessage() for r in caplog.records if r.name == "flowhooks.traces"]
    assert said.count("traces dropped: the queue is full (the database is slow or down)") == 1
    assert "traces queued again" in said  # each change of state once, not a line a drop


async def test_a_writer_that_dies_is_started_again_and_the_traces_it_held_are_dropped(
    make_client: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowhooks.traces")
    client = await make_client(traces_conf(db_url))
    app = client.server.app
    recorder = app[appkeys.TRACES]
    plain = envelope("validateDateTime", inputDate="25-12-2026", inputTime="11:00", clientID="acme")

    async def counts() -> tuple[float, float]:
        text = await (await client.get("/metrics")).text()
        return (
            metric(text, "flowhooks_traces_written_total"),
            metric(text, "flowhooks_traces_dropped_total"),
        )

    await post(client, plain)
    await wait_for(lambda: recorder.written == 1, timeout=20)
    first = recorder.writer_pid
    assert first is not None and first != os.getpid()  # a process of its own
    async with traces_held(app, db_url):
        for _ in range(3):
            assert (await post(client, plain))["status"] == "SUCCESS"
        await wait_for(lambda: not recorder._batch, timeout=20)  # in the writer's hands
        os.kill(first, signal.SIGKILL)
        await wait_for(lambda: recorder.dropped == 3, timeout=20)
    await wait_for(lambda: recorder.writer_pid not in (None, first), timeout=30)
    for _ in range(2):
        await post(client, plain)
    await wait_for(lambda: recorder.written == 3, timeout=30)
    assert await counts() == (3, 3)
    assert len(await traces(client, limit="100")) == 3
    said = [r.getMessage() for r in caplog.records if r.name == "flowhooks.traces"]
    assert said.count("traces writer stopped; starting it again") == 1


def _captures(prefix: str, n: int, sent: bytes | None = None) -> list[bytes]:
    """``n`` captured validateDateTime answers, request ids ``prefix-0`` …; ``sent``: the
    body of a request that parsed (an empty validateDateTime) as it reaches the writer."""
    tokens = Tokens()
    env = None if sent is None else parse(b'{"method": "validateDateTime", "keys": []}')
    answer = Answer(200, {"status": "SUCCESS", "requestId": "r", "keys": []})
    out = Outcome(answer, "validateDateTime", "", env, NEUTRAL)
    return [capture(out, f"{prefix}-{i}", 0.001, out.answer.dumps(), sent, lambda: NEUTRAL, tokens)
            for i in range(n)]  # fmt: skip


async def _through_writer(
    db_url: str, items: list[bytes], **options: Any
) -> tuple[list[tuple[int, int]], list[str], int]:
    """``items`` through the writer process's batch loop onto the real rows writer of
    ``db_url``: its reports (written, dropped), the request ids stored, and the rows
    writer's batch."""
    storage = Storage.open(db_url)
    try:
        await migrations.upgrade(storage)
        target = store.writer_target(db_url, "NORMAL", True)
        assert target is not None
        sink = writer.rows_writer(target)
        done: list[tuple[int, int]] = []
        shaper = Shaper(rules_of(traces_conf(db_url)))
        loop = writer.Writer(shaper, sink.insert, lambda w, d: done.append((w, d)), **options)
        running = asyncio.create_task(loop.run())
        loop.put(b"".join(items), len(items))
        loop.close()
        await running
        await sink.close()
        async with storage.read() as conn:
            ids = (await conn.execute(select(t.traces.c.request_id))).scalars().all()
        return done, sorted(ids), sink.batch
    finally:
        await storage.close()


async def test_a_trace_that_cannot_be_shaped_is_dropped_alone(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer process's batch loop on the real row writers: one broken capture is
    counted as dropped, the batch around it is stored."""
    good = _captures("r", 3)
    [broken] = _captures("b", 1, sent=b"{not json")  # it parsed; now it does not
    done, ids, _ = await _through_writer(db_url, [good[0], broken, good[1], good[2]])
    assert done == [(3, 0), (0, 1)]
    assert ids == ["r-0", "r-1", "r-2"]
    assert "traces not shaped" in [r.getMessage() for r in caplog.records]


async def test_the_writer_stores_in_pieces_of_its_stores_batch(db_url: str) -> None:
    """PostgreSQL takes COPYs of at most 100 rows, SQLite transactions of 250 (bigger ones
    stall a server sharing the cores); a flush of more is several pieces, all stored."""
    done, ids, batch = await _through_writer(db_url, _captures("p", 5), batch=2)
    assert batch == (100 if db_url.startswith("postgresql") else 250)
    assert done == [(2, 0), (2, 0), (1, 0)]
    assert ids == [f"p-{i}" for i in range(5)]


async def test_retention_purges_old_traces_in_batches(make_client: Any, db_url: str) -> None:
    conf = traces_conf(db_url, extra="[traces]\nretention_days = 7\n")
    client = await make_client(conf, now=NEUTRAL)
    old = (NEUTRAL - timedelta(days=8)).isoformat()
    for i in range(5):
        await post(client, check("25-12-2026", "11:00", f"old-{i}"), now=old)
    for i in range(3):
        await post(client, check("25-12-2026", "11:00", f"new-{i}"))
    await wait_traces(client, 8)
    storage = client.server.app[appkeys.DB]
    retention = conf.retention.model_copy(update={"batch_size": 2})
    counts = await purge_once(storage, retention, NEUTRAL, conf.traces.retention_days)
    assert counts["traces"] == 5
    left = await traces(client, limit="100")
    assert sorted(t_["callKey"] for t_ in left) == ["new-0", "new-1", "new-2"]
    async with storage.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(t.traces)) == 3
    kept = await purge_once(storage, retention, NEUTRAL + timedelta(days=1), 0)
    assert "traces" not in kept  # 0 days: kept forever


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"cli": "+919979746666"}, "ix_traces_cli"),
        ({"call_key": CALL}, "ix_traces_call_key"),
        ({"method": "validateDateTime", "status": "FAILED"}, "ix_traces_method"),
        ({}, "ix_traces_client_at"),
    ],
)
async def test_each_filter_is_served_by_its_index_and_the_partial_ones_skip_empty_values(
    db_url: str, filters: dict[str, str], index: str
) -> None:
    """The caller and call-key indexes hold only traces that have one (most envelopes of
    some flows carry neither: issue 26's write cost), and the search still reads them:
    among 2,000 traces of other callers, calls and methods, each filter's plan reads its
    index (with statistics, so that the planner's choice is not a tie)."""
    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        row = {"client": "acme", "http_status": 200, "error_code": "", "latency_ms": 1.0,
               "request": None, "answer": "[]", "cut": False}  # fmt: skip
        others = [
            {**row, "request_id": f"o-{i}", "at": NEUTRAL - timedelta(seconds=i),
             "method": "fetchUserPreferences", "status": "SUCCESS", "cli": "", "call_key": ""}
            for i in range(2000)
        ]  # fmt: skip
        wanted = {**row, "request_id": "w", "at": NEUTRAL, "method": "validateDateTime",
                  "status": "FAILED", "cli": "+919979746666", "call_key": CALL}  # fmt: skip
        query = store._query(store.Selection("acme", **filters), None, True, (t.traces.c.seq,))
        async with s.write() as conn:
            await conn.execute(t.traces.insert(), [*others, wanted])
            await conn.exec_driver_sql("ANALYZE traces" if s.is_postgres else "ANALYZE")
            sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            if s.is_postgres:
                await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = [r[0] for r in await conn.exec_driver_sql("EXPLAIN " + sql)]
                defs = dict(
                    (
                        await conn.exec_driver_sql(
                            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traces'"
                        )
                    ).all()
                )
            else:
                plan = [r[-1] for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
                defs = dict(
                    (
                        await conn.exec_driver_sql(
                            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'traces'"
                            " AND type = 'index' AND sql IS NOT NULL"
                        )
                    ).all()
                )
        assert any(index in line for line in plan), plan
        assert "WHERE" in defs["ix_traces_cli"] and "WHERE" in defs["ix_traces_call_key"], defs
        assert "WHERE" not in defs["ix_traces_client_at"], defs
    finally:
        await s.close()


async def test_migration_13_makes_the_caller_and_call_key_indexes_partial(db_url: str) -> None:
    """A database from before it (full indexes, version 12) gets the partial ones."""
    s = Storage.open(db_url)
    try:
        await migrations.upgrade(s)
        async with s.write() as conn:
            for column in ("cli", "call_key"):
                await conn.exec_driver_sql(f"DROP INDEX ix_traces_{column}")
                await conn.exec_driver_sql(
                    f"CREATE INDEX ix_traces_{column} ON traces (client, {column}, at, seq)"
                )
            await conn.execute(t.schema_version.delete().where(t.schema_version.c.version == 13))
        assert await migrations.upgrade(s) == [13]
        async with s.read() as conn:
            table = "pg_indexes" if s.is_postgres else "sqlite_master"
            name, sql = ("indexname", "indexdef") if s.is_postgres else ("name", "sql")
            rows = await conn.exec_driver_sql(
                f"SELECT {name}, {sql} FROM {table} WHERE {name} LIKE 'ix_traces_c%'"
            )
            defs = dict(rows.all())
        assert "WHERE" in defs["ix_traces_cli"] and "WHERE" in defs["ix_traces_call_key"], defs
    finally:
        await s.close()
