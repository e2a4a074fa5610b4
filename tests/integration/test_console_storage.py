"""What the console reads and writes, on SQLite and PostgreSQL (issue 27): calls by
keyset with filters and a bounded scan, every delivery attempt, retry-all-dead, request
counts summed across processes, a client's traced requests an hour, outbox samples,
link clicks by day, sign-in failures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from flowhooks.outbound.model import NewCall, NewRequest
from flowhooks.storage import Storage, migrations, outbound, outbox, signins, stats
from flowhooks.storage import links as link_store
from flowhooks.storage import tables as t
from flowhooks.storage import traces as trace_store
from flowhooks.storage.links import Clicks, StoredLink
from flowhooks.traces import writer
from flowhooks.traces.record import Trace
from flowhooks.webhooks.events import NewDelivery
from flowhooks.webhooks.retry import Decision

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    s = Storage.open(db_url)
    await migrations.upgrade(s)
    try:
        yield s
    finally:
        await s.close()


def request(client: str, number: str, at: datetime) -> tuple[NewRequest, datetime]:
    rid = str(uuid.uuid4())
    call = NewCall(str(uuid.uuid4()), 0, number, "Asia/Kolkata", at)
    req = NewRequest(
        rid,
        client,
        "ab12cd34",
        0,
        "",
        "",
        f"k:{rid}",
        rid,
        at + timedelta(hours=1),
        3,
        [call],
        {},
        "",
    )
    return req, at


async def test_calls_page_by_keyset_newest_first_with_filters(storage: Storage) -> None:
    made = [request("acme", f"+91980000{i:04d}", NOW + timedelta(seconds=i)) for i in range(7)]
    made.append(request("other", "+919800000003", NOW))
    await outbound.create_many(storage, made)
    page, more = await outbound.list_calls(
        storage, "acme", state=None, number=None, limit=3, before=None
    )
    assert [c["number"] for c in page] == ["+919800000006", "+919800000005", "+919800000004"]
    assert more is not None
    page2, more2 = await outbound.list_calls(
        storage, "acme", state=None, number=None, limit=3, before=more
    )
    page3, more3 = await outbound.list_calls(
        storage, "acme", state=None, number=None, limit=3, before=more2
    )
    seen = [c["number"] for c in page + page2 + page3]
    assert seen == [f"+91980000{i:04d}" for i in range(6, -1, -1)] and more3 is None
    found, _ = await outbound.list_calls(
        storage, "acme", state="queued", number="+919800000003", limit=3, before=None
    )
    assert [c["number"] for c in found] == ["+919800000003"]  # not other's same number
    none, _ = await outbound.list_calls(
        storage, "acme", state="completed", number=None, limit=3, before=None
    )
    assert none == []
    assert await outbound.states_of(storage, "acme") == {"queued": 7}


async def test_a_filtered_page_looks_through_a_bounded_window(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbound, "SCAN_REQUESTS", 4)
    await outbound.create_many(
        storage, [request("acme", "+919800000001", NOW + timedelta(seconds=i)) for i in range(10)]
    )
    found, more = await outbound.list_calls(
        storage, "acme", state="completed", number=None, limit=3, before=None
    )
    assert found == [] and more is not None  # 4 looked at, none matched: go on from there
    rest, _ = await outbound.list_calls(
        storage, "acme", state=None, number=None, limit=20, before=more
    )
    assert len(rest) == 6


def delivery(client: str, at: datetime) -> NewDelivery:
    return NewDelivery(
        str(uuid.uuid4()),
        f"msg_{uuid.uuid4().hex}",
        client,
        "report",
        {"id": "r"},
        at,
        at + timedelta(hours=1),
    )


async def test_every_attempt_is_kept_and_dead_ones_are_retried_by_filter(storage: Storage) -> None:
    async with storage.write() as conn:
        await outbox.enqueue(
            conn, [delivery("acme", NOW), delivery("acme", NOW), delivery("other", NOW)]
        )
    until = NOW + timedelta(minutes=1)
    for attempt, decision in enumerate(
        [Decision("pending", NOW, "HTTP 500"), Decision("dead", None, "HTTP 500")], start=1
    ):
        for claimed in await outbox.claim(storage, {("acme", "report"): 10}, "w", NOW, until):
            assert claimed.attempts == attempt
            finished = await outbox.finish(
                storage, claimed, "w", decision, 500, NOW, elapsed_ms=12.5
            )
            assert finished.ours
    for claimed in await outbox.claim(storage, {("other", "report"): 10}, "w", NOW, until):
        await outbox.finish(storage, claimed, "w", Decision("dead", None, "x"), 500, NOW)
    rows = await outbox.listing(storage, "acme", state="dead", event=None, limit=10, before=None)
    tries = await outbox.attempts_of(storage, [r["seq"] for r in rows])
    for seq in tries:
        assert [(t["attempt"], t["outcome"], t["status"], t["elapsed_ms"]) for t in tries[seq]] == [
            (1, "pending", 500, 12.5),
            (2, "dead", 500, 12.5),
        ]
    assert await outbox.retry_dead(storage, "acme", NOW, timedelta(hours=1), batch=1) == 2
    assert (
        await outbox.listing(storage, "acme", state="dead", event=None, limit=10, before=None) == []
    )
    assert (
        len(await outbox.listing(storage, "other", state="dead", event=None, limit=10, before=None))
        == 1
    )
    later = await outbox.listing(
        storage,
        "acme",
        state=None,
        event=None,
        limit=10,
        before=None,
        since=NOW + timedelta(seconds=1),
    )
    assert later == []


async def test_request_counts_add_up_across_processes_and_outbox_samples_once_a_minute(
    storage: Storage,
) -> None:
    hour = NOW.replace(minute=0)
    for _ in range(2):  # two processes adding to the same hour
        await stats.add_requests(
            storage, hour, {("validateDateTime", 200, "SUCCESS"): 3}, {("validateDateTime", 2): 3}
        )
    rows = await stats.requests_since(storage, hour)
    assert [(r["method"], r["count"]) for r in rows] == [("validateDateTime", 6)]
    assert [(r["bucket"], r["count"]) for r in await stats.latency_since(storage, hour)] == [(2, 6)]
    async with storage.write() as conn:
        await outbox.enqueue(conn, [delivery("acme", NOW), delivery("other", NOW)])
    assert await stats.sample_outbox(storage, NOW) == 2
    await stats.sample_outbox(storage, NOW)  # another process, the same minute: kept once
    assert await stats.outbox_since(storage, NOW, "acme") == [{"at": NOW, "pending": 1, "dead": 0}]
    assert await stats.outbox_since(storage, NOW, None) == [{"at": NOW, "pending": 2, "dead": 0}]


def trace(client: str, at: datetime, method: str, latency_ms: float, http: int = 200) -> Trace:
    status = "SUCCESS" if http == 200 and method != "failing" else "FAILED"
    return Trace(
        str(uuid.uuid4()),
        client,
        at,
        method,
        http,
        status,
        "",
        latency_ms,
        "",
        "",
        None,
        "[]",
        False,
    )


async def test_a_clients_traced_requests_an_hour_with_latency_buckets(
    storage: Storage, db_url: str
) -> None:
    """Grouped as the hourly counters are (UTC hours, ``metrics.BUCKETS``), the
    client's own, from ``since`` on; written by the traces writer's own row writer."""
    since = NOW - timedelta(hours=1)  # 09:00 UTC
    hour9, hour10 = since, NOW
    target = trace_store.writer_target(db_url, "NORMAL", True)
    assert target is not None
    rows = writer.rows_writer(target)
    await rows.insert(
        [
            trace("acme", since - timedelta(microseconds=1), "validateDateTime", 1),  # before
            trace("acme", since, "validateDateTime", 0.3),  # bucket 0: <= 0.5 ms
            trace("acme", NOW - timedelta(microseconds=1), "validateDateTime", 0.5),  # still 0
            trace("acme", NOW, "validateDateTime", 0.7),  # bucket 1, the next hour
            trace("acme", NOW + timedelta(minutes=30), "createOutbound", 3000, http=422),
            trace("acme", NOW + timedelta(minutes=31), "failing", 30),
            trace("other", NOW, "validateDateTime", 1),
        ],
    )
    await rows.close()
    requests, latency = await stats.traced_since(storage, "acme", since)
    assert [
        (r["hour"], r["method"], r["http_status"], r["status"], r["count"]) for r in requests
    ] == [
        (hour9, "validateDateTime", 200, "SUCCESS", 2),
        (hour10, "createOutbound", 422, "FAILED", 1),
        (hour10, "failing", 200, "FAILED", 1),
        (hour10, "validateDateTime", 200, "SUCCESS", 1),
    ]
    assert [(r["hour"], r["method"], r["bucket"], r["count"]) for r in latency] == [
        (hour9, "validateDateTime", 0, 2),
        (hour10, "createOutbound", 12, 1),  # beyond the last bound (2.5 s)
        (hour10, "failing", 6, 1),  # 30 ms: (25, 50] ms
        (hour10, "validateDateTime", 1, 1),
    ]
    assert await stats.traced_since(storage, "nobody", since) == ([], [])
    before_ten, _ = await stats.traced_since(storage, "acme", since, until=NOW)
    assert [(r["hour"], r["count"]) for r in before_ten] == [(hour9, 2)]


async def test_link_clicks_are_kept_by_day(storage: Storage) -> None:
    link = StoredLink("abcdefgh", "acme", "https://x.example/", NOW, None)
    await link_store.insert(storage, link)
    d1, d2 = date(2026, 11, 20), date(2026, 11, 21)
    await link_store.add_clicks(storage, [Clicks("abcdefgh", 3, 1, NOW, ((d1, 1, 0), (d2, 2, 1)))])
    await link_store.add_clicks(storage, [Clicks("abcdefgh", 1, 1, NOW, ((d2, 1, 1),))])
    assert await link_store.days(storage, "abcdefgh", d1) == [(d1, 1, 0), (d2, 3, 2)]
    assert await link_store.days(storage, "abcdefgh", d2) == [(d2, 3, 2)]
    listed = await link_store.listing(storage, "acme", 10, None)
    assert [(x.code, x.clicks, x.bot_clicks) for x in listed] == [("abcdefgh", 4, 2)]
    assert await link_store.listing(storage, "acme", 10, (NOW, "abcdefgh")) == []


async def test_sign_in_failures_are_counted_in_a_window(storage: Storage) -> None:
    for i in range(3):
        await signins.record_failure(
            storage, "10.0.0.1", NOW + timedelta(seconds=i), NOW - timedelta(minutes=1)
        )
    assert await signins.failures_since(storage, "10.0.0.1", NOW) == 3
    assert await signins.failures_since(storage, "10.0.0.1", NOW + timedelta(seconds=2)) == 1
    assert await signins.failures_since(storage, "10.0.0.2", NOW) == 0


async def test_retry_all_dead_of_an_endpoint_ends_its_back_off_like_one_retry(
    storage: Storage,
) -> None:
    """The customer says the endpoint works again: its back-off ends (as ``retry`` of one
    delivery does), only the chosen endpoint's dead deliveries are queued again."""
    from flowhooks.webhooks.retry import Breaker

    stored, config = ("acme", "whk_stored"), ("acme", "report")
    made = [delivery("acme", NOW) for _ in range(3)]
    made = [
        NewDelivery(**{**vars(d), "endpoint": "whk_stored" if n < 2 else None})
        for n, d in enumerate(made)
    ]
    async with storage.write() as conn:
        await outbox.enqueue(conn, made)
    until = NOW + timedelta(minutes=1)
    report = outbox.EndpointReport(True, False, "HTTP 500", "url-1", Breaker(1), 0.0)
    dead = Decision("dead", None, "HTTP 500")
    for endpoint in (stored, config):
        for claimed in await outbox.claim(storage, {endpoint: 10}, "w", NOW, until):
            await outbox.finish(storage, claimed, "w", dead, 500, NOW, report=report)
    backed_off = {(h.client, h.endpoint) for h in await outbox.failing_endpoints(storage)}
    assert backed_off == {stored, config}
    assert all(h.backed_off(NOW) for h in await outbox.failing_endpoints(storage))
    give_up = timedelta(hours=1)
    assert await outbox.retry_dead(storage, "acme", NOW, give_up, endpoint="whk_stored") == 2
    health = {(h.client, h.endpoint): h for h in await outbox.failing_endpoints(storage)}
    assert not health[stored].backed_off(NOW)  # probed at once
    assert health[stored].failures == 2  # its failures stay: one attempt at a time
    assert health[config].backed_off(NOW)  # another endpoint: untouched
    rows = await outbox.listing(storage, "acme", state="dead", event=None, limit=10, before=None)
    assert [r["endpoint"] for r in rows] == ["report"]
    assert await outbox.retry_dead(storage, "acme", NOW, give_up, event="report") == 1
    assert not any(h.backed_off(NOW) for h in await outbox.failing_endpoints(storage))


async def test_every_endpoints_day_at_once_matches_each_endpoints_own(storage: Storage) -> None:
    """The webhooks page's one read of the window equals ``endpoint_stats`` of each
    endpoint when all of its history is in the window; older deliveries and another
    client's are left out."""
    made = [
        NewDelivery(**{**vars(delivery(client, at)), "endpoint": endpoint})
        for client, endpoint, at in [
            ("acme", None, NOW),
            ("acme", None, NOW),
            ("acme", "whk_a", NOW),
            ("acme", "whk_a", NOW),
            ("acme", "whk_a", NOW),
            ("acme", "whk_b", NOW - timedelta(days=2)),  # before the window
            ("other", "whk_a", NOW),
        ]
    ]
    async with storage.write() as conn:
        await outbox.enqueue(conn, made)
    until = NOW + timedelta(minutes=1)
    outcomes = iter(
        [
            Decision("delivered", None, None),
            Decision("pending", NOW + timedelta(minutes=5), "HTTP 500"),
            Decision("dead", None, "HTTP 500"),
            Decision("delivered", None, None),
        ]
    )
    grants = {("acme", "report"): 10, ("acme", "whk_a"): 10, ("other", "whk_a"): 10}
    for n, claimed in enumerate(await outbox.claim(storage, grants, "w", NOW, until)):
        decision = next(outcomes, Decision("delivered", None, None))
        at = NOW + timedelta(seconds=n)
        await outbox.finish(storage, claimed, "w", decision, 200, at)
    since = NOW - timedelta(hours=1)
    every = await outbox.endpoints_stats(storage, "acme", since)
    assert set(every) == {"report", "whk_a"}
    for endpoint in every:
        assert every[endpoint] == await outbox.endpoint_stats(storage, ("acme", endpoint), since)
    assert sum(every["whk_a"]["counts"].values()) == 3
    assert every["report"]["last_failure_at"] is not None


async def test_outcomes_finished_together_share_one_transaction_and_skip_a_lost_lease(
    storage: Storage,
) -> None:
    """The delivery loop's group commit: each outcome is written as ``finish`` writes it
    alone (state, attempt row, a 410's hold), and one whose lease another worker took
    is left as it is."""
    async with storage.write() as conn:
        await outbox.enqueue(conn, [delivery("acme", NOW) for _ in range(3)])
    until = NOW + timedelta(minutes=1)
    one, two, three = await outbox.claim(storage, {("acme", "report"): 3}, "w", NOW, until)
    async with storage.write() as conn:  # its lease ran out; another worker took it
        await conn.execute(
            update(t.deliveries).where(t.deliveries.c.seq == three.seq).values(lease_owner="w2")
        )
    later = NOW + timedelta(seconds=5)
    retry = Decision("pending", later + timedelta(minutes=1), "HTTP 500")
    finished = await outbox.finish_many(
        storage,
        "w",
        [
            outbox.Outcome(one, Decision("delivered", None, None), 200, later, elapsed_ms=3.0),
            outbox.Outcome(two, retry, 500, later),
            outbox.Outcome(three, retry, 500, later),  # not ours any more
        ],
    )
    assert [f.ours for f in finished] == [True, True, False]
    async with storage.read() as conn:
        rows = {
            r.seq: r
            for r in await conn.execute(
                select(t.deliveries.c.seq, t.deliveries.c.state, t.deliveries.c.delivered_at,
                       t.deliveries.c.next_attempt_at, t.deliveries.c.lease_owner)
            )
        }  # fmt: skip
    assert (rows[one.seq].state, rows[one.seq].delivered_at) == ("delivered", later)
    assert rows[one.seq].lease_owner is None
    assert rows[two.seq].state == "pending"
    assert rows[two.seq].next_attempt_at == retry.next_attempt_at
    assert (rows[three.seq].state, rows[three.seq].lease_owner) == ("pending", "w2")  # untouched
    tries = await outbox.attempts_of(storage, [one.seq, two.seq, three.seq])
    assert [(a["outcome"], a["status"], a["elapsed_ms"]) for a in tries[one.seq]] == [
        ("delivered", 200, 3.0)
    ]
    assert [(a["outcome"], a["error"]) for a in tries[two.seq]] == [("pending", "HTTP 500")]
    assert tries[three.seq] == []
