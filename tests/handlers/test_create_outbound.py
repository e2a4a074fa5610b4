"""createOutbound end to end (SPEC 2.2), on SQLite and PostgreSQL; no dispatcher running."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select, text

from flowhooks.clock import FixedClock
from flowhooks.storage import outbound as store
from flowhooks.storage import tables as t
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory
from tests.outbound_conf import FR_SECRET, US_SECRET, create, outbound_conf, post, view

NOON = "2026-11-21T12:00:00+05:30"  # noon in India: inside the calling window, on purpose
NOON_DT = datetime.fromisoformat(NOON)


async def test_accepted_numbers_are_stored_before_the_answer(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    status, keys, body = await post(
        client, create("91997974 6666; 09979746667 | 12345\n+1 212 555 0100")
    )
    assert (status, body["status"]) == (200, "SUCCESS")
    assert keys["$flow.key.obdResponseCode"] == "200"
    ids = keys["$flow.key.obdPhononUUID"].split(",")
    assert len(ids) == 2
    assert keys["$flow.key.obdScheduledAt"] == "2026-11-21T12:00:00+05:30"
    assert keys["$flow.key.obdRejectedNumbers"] == "12345:invalid,+12125550100:region_not_allowed"
    stored = await view(client, keys["$flow.key.obdReqID"])
    assert [c["id"] for c in stored["calls"]] == ids  # input order
    assert [c["number"] for c in stored["calls"]] == ["+919979746666", "+919979746667"]
    assert {c["state"] for c in stored["calls"]} == {"queued"}
    assert all(c["history"][0]["toState"] == "queued" for c in stored["calls"])


async def test_the_same_number_twice_rings_once(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    _, keys, _ = await post(client, create("9979746666, +91 99797 46666"))
    assert len(keys["$flow.key.obdPhononUUID"].split(",")) == 1
    assert keys["$flow.key.obdRejectedNumbers"] == "+919979746666:duplicate"


async def test_response_codes(make_client: ClientFactory) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    cases = [
        (create("9979746666", secret="b" * 64), "401", "UNAUTHORIZED"),
        (create("9979746666", client="nobody"), "401", "UNAUTHORIZED"),
        (create("9979746666", **{"$flow.syskey.apiVersion": "2.0"}), "400", "BAD_API_VERSION"),
        (create("9979746666", flow="zz999999"), "404", "UNKNOWN_FLOW"),
        (create("12345, abc"), "400", "NO_NUMBER_ACCEPTED"),
    ]
    for doc, code, error in cases:
        status, keys, body = await post(client, doc)
        assert (status, body["status"]) == (200, "FAILED"), doc
        assert keys["$flow.key.obdResponseCode"] == code
        assert keys["$flow.key.errorCode"] == error
    _, keys, _ = await post(client, create("12345, abc"))
    assert keys["$flow.key.obdRejectedNumbers"] == "12345:invalid,abc:not_a_number"


async def test_bad_keys_are_422_and_still_say_400(make_client: ClientFactory) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    for doc, key in [
        (create("", **{"$flow.syskey.contactNumbers": None}), "contactNumbers"),
        (create("9979746666", **{"$flow.syskey.delayMinutes": "soon"}), "delayMinutes"),
        (create("9979746666", **{"$flow.syskey.delayMinutes": "10081"}), "delayMinutes"),
        (create(" , ;"), "contactNumbers"),
    ]:
        status, keys, body = await post(client, doc)
        assert status == 422
        assert body["error"]["details"][0]["key"] == key
        assert keys["$flow.key.obdResponseCode"] == "400"


async def test_french_special_numbers_are_blocked(make_client: ClientFactory) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    _, keys, _ = await post(
        client,
        create("01 23 45 67 89, 08 92 70 12 34", client="fr", secret=FR_SECRET, flow="fr000001"),
    )
    assert keys["$flow.key.obdRejectedNumbers"] == "0892701234:blocked_type"
    assert len(keys["$flow.key.obdPhononUUID"].split(",")) == 1


async def test_due_time_moves_into_the_calling_calendar(make_client: ClientFactory) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    _, keys, _ = await post(client, create("9979746666"), now="2026-11-21T22:10:00+05:30")
    assert keys["$flow.key.obdScheduledAt"] == "2026-11-22T09:00:00+05:30"
    _, keys, _ = await post(client, create("9979746667", **{"$flow.syskey.delayMinutes": "45"}))
    assert keys["$flow.key.obdScheduledAt"] == "2026-11-21T12:45:00+05:30"


async def test_a_callee_calendar_is_read_in_the_numbers_own_zone(
    make_client: ClientFactory,
) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    # 12:00 IST is 01:30 in New York and 22:30 (the day before) in Los Angeles: both closed
    doc = create("+1 212 555 0100, +1 415 555 0100", client="us", secret=US_SECRET, flow="us000001")
    _, keys, _ = await post(client, doc)
    assert keys["$flow.key.obdScheduledAt"] == "2026-11-21T08:00:00-05:00"
    db = client.app[appkeys.DB]
    c = t.outbound_calls
    async with db.read() as conn:
        rows = (
            await conn.execute(select(c.c.number, c.c.due_at, c.c.zone).order_by(c.c.position))
        ).all()
    assert [(r.number, r.zone) for r in rows] == [
        ("+12125550100", "America/New_York"),
        ("+14155550100", "America/Los_Angeles"),
    ]
    assert rows[1].due_at == datetime.fromisoformat("2026-11-21T08:00:00-08:00")


async def test_idempotency_key(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    doc = create("9979746666", idempotencyKey="k-1")
    _, first, _ = await post(client, doc)
    _, again, _ = await post(client, doc)
    assert again == first
    status, other, body = await post(client, create("9979746667", idempotencyKey="k-1"))
    assert (status, body["status"], other["$flow.key.obdResponseCode"]) == (200, "FAILED", "409")
    _, fresh, _ = await post(client, create("9979746666", idempotencyKey="k-2"))
    assert fresh["$flow.key.obdReqID"] != first["$flow.key.obdReqID"]


async def test_without_a_key_the_same_request_within_dedupe_seconds_is_one(
    make_client: ClientFactory, db_url: str
) -> None:
    clock_now = NOON_DT
    client = await make_client(outbound_conf(db_url), now=clock_now)
    _, first, _ = await post(client, create("9979746666"))
    _, again, _ = await post(client, create("+91 99797 46666"))  # same number, other spelling
    assert again["$flow.key.obdReqID"] == first["$flow.key.obdReqID"]
    _, other_delay, _ = await post(
        client, create("9979746666", **{"$flow.syskey.delayMinutes": "5"})
    )
    assert other_delay["$flow.key.obdReqID"] != first["$flow.key.obdReqID"]
    clock = client.app[appkeys.CLOCK]
    assert isinstance(clock, FixedClock)
    clock.moment = clock_now + timedelta(seconds=121)  # past dedupe_seconds
    _, later, _ = await post(client, create("9979746666"))
    assert later["$flow.key.obdReqID"] != first["$flow.key.obdReqID"]


async def test_an_ivr_retry_storm_schedules_one_call(
    make_client: ClientFactory, db_url: str
) -> None:
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    doc = create("9979746666, 9979746667")
    answers = await asyncio.gather(*(post(client, doc) for _ in range(20)))
    req_ids = {keys["$flow.key.obdReqID"] for _, keys, _ in answers}
    assert len(req_ids) == 1 and all(s == 200 for s, _, _ in answers)
    keyed = create("9979746668", idempotencyKey="storm")
    answers = await asyncio.gather(*(post(client, keyed) for _ in range(20)))
    assert len({keys["$flow.key.obdReqID"] for _, keys, _ in answers}) == 1
    db = client.app[appkeys.DB]
    depth = await store.depth(db, NOON_DT + timedelta(days=1))
    assert depth["queued"] == 3  # two numbers + one keyed number: nothing doubled


async def test_client_over_its_rate_gets_the_envelope_429_with_obd_code_429(
    make_client: ClientFactory,
) -> None:
    client = await make_client(outbound_conf("sqlite:///:memory:"), now=NOON_DT)
    answers = []
    for i in range(4):
        resp = await client.post(
            "/webhook",
            json=create(f"+1 212 555 010{i}", client="us", secret=US_SECRET, flow="us000001"),
        )
        answers.append((resp.status, resp.headers.get("Retry-After"), await resp.json()))
    assert [status for status, _, _ in answers[:2]] == [200, 200]
    status, retry_after, body = answers[2]
    assert (status, retry_after, body["error"]["code"]) == (429, "1", "RATE_LIMITED")
    keys = {k["name"]: k["value"] for k in body["keys"]}
    assert keys["$flow.key.obdResponseCode"] == "429"
    assert keys["$flow.key.status"] == "FAILED"
    assert keys["$flow.key.errorCode"] == "RATE_LIMITED"


async def test_secrets_are_not_stored_or_logged(make_client: ClientFactory, db_url: str) -> None:
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    await post(client, create("9979746666"))
    db = client.app[appkeys.DB]
    async with db.read() as conn:
        for table in ("outbound_requests", "outbound_calls", "call_events", "outbound_keys"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            assert "a" * 64 not in repr(rows), table


async def test_a_big_request_gives_the_loop_turns_while_it_works(
    make_client: ClientFactory, db_url: str
) -> None:
    """744 numbers (as many as an 8 KiB value holds) are parsed, planned and written in
    pieces with loop turns between them: other requests are served meanwhile (issue 13;
    bench/README.md has the latency this buys)."""
    client = await make_client(outbound_conf(db_url), now=NOON_DT)
    numbers = ",".join(f"99797{i:05d}" for i in range(744))
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            await asyncio.sleep(0)
            turns += 1

    ticking = asyncio.create_task(ticker())
    status, keys, _ = await post(client, create(numbers))
    done = True
    await ticking
    assert status == 200 and len(keys["$flow.key.obdPhononUUID"].split(",")) == 744
    assert turns >= 744 // 8  # at least a turn every 8 numbers
