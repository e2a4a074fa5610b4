"""The pure parts of fair delivery (issue 22, item 4): how a process's free slots are
shared among endpoints, and when an endpoint is backed off as a whole."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from flowhooks.webhooks.fairness import Due, Endpoint, Slots, after_claims, share
from flowhooks.webhooks.retry import FORBIDDEN, Backoff, Breaker, Result, endpoint_failed

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
SHIPPED = Slots(concurrency=16, per_endpoint=4, failing=4, suspect=12, probe_after=3)


def due(client: str, name: str, n: int = 100, failures: int = 0, first: int = 1) -> Due:
    return Due((client, name), n, failures, first)


def test_a_healthy_client_gets_the_free_slots_before_clients_whose_endpoints_hang() -> None:
    hanging = [
        due(f"h{i}", e, failures=1, first=i) for i in range(6) for e in ("report", "call_status")
    ]
    in_flight: Counter[Endpoint] = Counter({d.endpoint: 1 for d in hanging})  # 12 held
    healthy = due("acme", "report", first=1000)  # its events are the newest
    given_ = share([*hanging, healthy], in_flight, 12, SHIPPED, {}, {}, {healthy.endpoint})
    assert given_ == [("acme", "report")] * 4  # all four free slots, up to per_endpoint


def test_before_anyone_failed_a_client_is_first_brought_level_with_the_others() -> None:
    others = [due(f"h{i}", e, first=i) for i in range(6) for e in ("report", "call_status")]
    in_flight: Counter[Endpoint] = Counter({d.endpoint: 1 for d in others})  # 2 a client
    found = [*others, due("acme", "report", first=1000)]
    given_ = share(found, in_flight, 0, SHIPPED, {}, {}, {d.endpoint for d in found})
    assert given_[:2] == [("acme", "report")] * 2 and len(given_) == 4
    assert ("acme", "report") not in given_[2:]  # then level: the clients take turns


def test_clients_share_first_then_their_endpoints() -> None:
    many = [due("big", f"e{i}", first=i) for i in range(3)]
    found = [*many, due("small", "report", first=99)]
    given_ = share(found, {}, 0, SHIPPED, {}, {}, {d.endpoint for d in found})
    assert [client for client, _ in given_[:8]] == ["big", "small"] * 4  # clients alternate
    assert Counter(given_) == {("big", "e0"): 4, ("big", "e1"): 4, ("big", "e2"): 4} | {
        ("small", "report"): 4  # capped by per_endpoint: the rest goes to the other client
    }


def test_failing_endpoints_share_their_part_and_one_slot_each_once_the_breaker_counts() -> None:
    failing = [due(f"f{i}", "report", failures=1 + i % 5, first=i) for i in range(10)]
    answering = {d.endpoint for d in failing}  # another process saw them fail
    given_ = share(failing, {}, 0, SHIPPED, {}, {}, answering)
    assert len(given_) == 4  # the failing part of 16 slots
    assert len(set(given_)) == 4  # each to another endpoint: fewest in flight first
    given_ = share(failing, {}, 3, SHIPPED, {}, {}, answering)  # three of them in flight
    assert len(given_) == 1
    probing = [due("p", "report", failures=3)]
    answering = {("p", "report")}
    assert share(probing, {}, 0, SHIPPED, {}, {}, answering) == [("p", "report")]  # one probe
    assert share(probing, {("p", "report"): 1}, 1, SHIPPED, {}, {}, answering) == []


def test_equals_take_turns_by_when_they_were_last_served() -> None:
    one, two = due("a", "report", first=1), due("b", "report", first=2)
    slots = Slots(concurrency=1, per_endpoint=1, failing=1, suspect=1, probe_after=3)
    assert share([one, two], {}, 0, slots, {}, {}, set()) == [("a", "report")]  # oldest event
    served = {"a": 5, "b": 2}
    assert share([one, two], {}, 0, slots, served, {}, set()) == [("b", "report")]


def test_an_endpoint_gets_one_slot_until_an_attempt_to_it_was_delivered() -> None:
    hanging = [due(f"h{i}", "report", first=i) for i in range(4)]  # the four
    healthy = due("acme", "report", first=99)
    given_ = share([*hanging, healthy], {}, 0, SHIPPED, {}, {}, set())
    assert sorted(given_) == sorted(d.endpoint for d in [*hanging, healthy])  # one each
    in_flight: Counter[Endpoint] = Counter({d.endpoint: 1 for d in hanging})
    given_ = share([*hanging, healthy], in_flight, 0, SHIPPED, {}, {}, {healthy.endpoint})
    assert given_ == [healthy.endpoint] * 4  # it answered: its full share; they wait


def test_endpoints_not_answering_yet_leave_one_full_share_free() -> None:
    hanging = [due(f"h{i}", "report", first=i) for i in range(20)]  # more than 16 slots
    given_ = share(hanging, {}, 0, SHIPPED, {}, {}, set())
    assert len(given_) == 12 == len(set(given_))  # one each, 16 - per_endpoint in all
    in_flight: Counter[Endpoint] = Counter(given_)
    healthy = due("acme", "report", first=99)
    given_ = share([*hanging, healthy], in_flight, 0, SHIPPED, {}, {}, {healthy.endpoint})
    assert given_ == [healthy.endpoint] * 4


@st.composite
def turns(
    draw: st.DrawFn,
) -> tuple[list[Due], Counter[Endpoint], int, Slots, set[Endpoint]]:
    slots = Slots(
        concurrency=draw(st.integers(1, 20)),
        per_endpoint=draw(st.integers(1, 6)),
        failing=draw(st.integers(1, 8)),
        suspect=draw(st.integers(1, 20)),
        probe_after=draw(st.integers(1, 4)),
    )
    names = draw(
        st.lists(
            st.tuples(st.sampled_from("abcd"), st.sampled_from(["report", "call_status", "x"])),
            unique=True,
            max_size=10,
        )
    )
    found = [
        Due(e, draw(st.integers(0, 8)), draw(st.integers(0, 5)), draw(st.integers(1, 50)))
        for e in names
    ]
    answering = {d.endpoint for d in found if draw(st.booleans())}
    in_flight: Counter[Endpoint] = Counter()
    failing_in_flight = 0
    for d in found:
        cap = _cap(d, slots, answering)
        held = draw(st.integers(0, cap))
        if sum(in_flight.values()) + held > slots.concurrency:
            break
        if d.failures and failing_in_flight + held > slots.failing:
            break
        if d.endpoint not in answering and _suspect(in_flight, answering) + held > slots.suspect:
            break
        in_flight[d.endpoint] = held
        failing_in_flight += held if d.failures else 0
    return found, in_flight, failing_in_flight, slots, answering


def _suspect(in_flight: Counter[Endpoint], answering: set[Endpoint]) -> int:
    return sum(n for e, n in in_flight.items() if e not in answering)


def _cap(d: Due, slots: Slots, answering: set[Endpoint]) -> int:
    full = d.endpoint in answering and d.failures < slots.probe_after
    return slots.per_endpoint if full else 1


@settings(max_examples=300, derandomize=True, deadline=None)
@given(turns())
def test_shares_never_break_a_limit_and_leave_no_slot_someone_could_take(
    turn: tuple[list[Due], Counter[Endpoint], int, Slots, set[Endpoint]],
) -> None:
    found, in_flight, failing_in_flight, slots, answering = turn
    given_ = Counter(share(found, in_flight, failing_in_flight, slots, {}, {}, answering))
    free = slots.concurrency - sum(in_flight.values())
    assert sum(given_.values()) <= free
    failing_given = 0
    open_ones = []
    for d in found:
        cap = _cap(d, slots, answering)
        n = given_[d.endpoint]
        assert n <= d.due and in_flight[d.endpoint] + n <= cap
        failing_given += n if d.failures else 0
        if n < d.due and in_flight[d.endpoint] + n < cap:
            open_ones.append(d)
    assert failing_in_flight + failing_given <= slots.failing
    suspect = _suspect(in_flight + given_, answering)
    assert suspect <= max(slots.suspect, _suspect(in_flight, answering))
    if sum(given_.values()) < free:  # slots left: nobody could have taken one
        failing_full = failing_in_flight + failing_given >= slots.failing
        suspect_full = suspect >= slots.suspect
        for d in open_ones:
            assert (d.failures and failing_full) or (d.endpoint not in answering and suspect_full)


# -- the breaker ------------------------------------------------------------------------


def test_what_an_attempt_says_about_its_endpoint() -> None:
    assert endpoint_failed(Result(status=200)) is False
    assert endpoint_failed(Result(status=202)) is False
    for failed in (Result(status=500), Result(status=400), Result(error="timeout after 10 s")):
        assert endpoint_failed(failed) is True
    assert endpoint_failed(Result(status=410)) is None  # disabled: its own state
    assert endpoint_failed(Result(error=FORBIDDEN)) is None  # dead at once


def test_the_breaker_backs_off_after_failures_in_a_row_doubling_to_the_cap() -> None:
    breaker = Breaker(3, Backoff(5, 3600))
    assert breaker.back_off(2, 0, None, NOW, 0.5) is None
    k, until = breaker.back_off(3, 0, None, NOW, 0.0) or (0, NOW)
    assert (k, until) == (1, NOW + timedelta(seconds=2.5))  # half of 5 s at the least
    k, until = breaker.back_off(3, 0, None, NOW, 0.999999) or (0, NOW)
    assert k == 1 and until <= NOW + timedelta(seconds=5)
    assert breaker.back_off(4, 1, until, NOW, 0.5) is None  # already backed off
    k, until = breaker.back_off(4, 1, NOW - timedelta(seconds=1), NOW, 0.0) or (0, NOW)
    assert (k, until) == (2, NOW + timedelta(seconds=5))  # the probe failed: twice as long
    k, until = breaker.back_off(40, 30, NOW, NOW, 0.999999) or (0, NOW)
    assert until <= NOW + timedelta(seconds=3600)  # never longer than max_backoff


def test_a_due_list_reused_between_turns_loses_what_was_claimed() -> None:
    """The delivery loop reuses its last due list for DUE_REUSE_S: what it claimed is
    taken off, and an endpoint that filled fewer slots than it was given is gone."""
    a, b, c = due("acme", "report", 10), due("acme", "call_status", 3), due("other", "report", 5)
    left = after_claims(
        [a, b, c],
        given={a.endpoint: 4, b.endpoint: 4, c.endpoint: 2},
        claimed={a.endpoint: 4, b.endpoint: 3, c.endpoint: 2},
    )
    assert [(d.endpoint, d.due) for d in left] == [(a.endpoint, 6), (c.endpoint, 3)]
    assert after_claims([a], given={}, claimed={}) == [a]  # nothing given: as it was
    assert after_claims([c], given={c.endpoint: 5}, claimed={c.endpoint: 5}) == []  # all taken
