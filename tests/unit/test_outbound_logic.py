"""Pure outbound logic: retry policy, state transitions, status words, payload parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowhooks.calendar import BusinessCalendar, Window
from flowhooks.integrations.providers import PROVIDERS, MalformedCallback
from flowhooks.integrations.simulated import choose
from flowhooks.outbound import retry
from flowhooks.outbound.model import (
    Accepted,
    CallState,
    NotSent,
    OutboundCall,
    Promise,
    Status,
    Unknown,
    provider_state,
)
from flowhooks.outbound.pacing import lease_size, refill_and_take, retry_after
from flowhooks.outbound.transitions import (
    after_dial,
    after_status,
    kept_promise,
    lease_expired,
    unknown_outcome,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "callbacks"
IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 17:30 in India: inside the window
CALLING = BusinessCalendar(
    "calling", IST, workdays=frozenset(range(7)), hours=Window(9 * 60, 21 * 60)
)


def fixture(name: str, **values: str) -> dict[str, object]:
    text = (FIXTURES / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    doc: dict[str, object] = json.loads(text)
    return doc


# -- retry policy -------------------------------------------------------------------


@pytest.mark.parametrize("state", [CallState.BUSY, CallState.NO_ANSWER, CallState.FAILED])
def test_retryable_states_come_back_after_retry_minutes(state: CallState) -> None:
    d = retry.after_final(state, attempts=1, max_attempts=3, retry_minutes=30, now=NOW)
    assert d.retry and d.due_at == NOW + timedelta(minutes=30)


@pytest.mark.parametrize(
    "state", [CallState.COMPLETED, CallState.CANCELLED, CallState.HANGUP_ON_VOICEMAIL]
)
def test_other_final_states_are_not_retried(state: CallState) -> None:
    assert not retry.after_final(state, 1, 3, 30, NOW).retry


def test_attempts_run_out() -> None:
    assert retry.after_final(CallState.BUSY, 2, 3, 30, NOW).retry
    d = retry.after_final(CallState.BUSY, 3, 3, 30, NOW)
    assert not d.retry and "3 of 3" in d.reason


def test_retry_moves_into_the_calling_calendar() -> None:
    evening = datetime(2026, 11, 21, 20, 45, tzinfo=IST)  # +30 min = 21:15, closed
    d = retry.after_final(CallState.NO_ANSWER, 1, 3, 30, evening, CALLING, IST)
    assert d.due_at == datetime(2026, 11, 22, 9, 0, tzinfo=IST)


def test_retry_in_the_callee_zone() -> None:
    ny = ZoneInfo("America/New_York")
    # 20:50 in New York + 30 min is past 21:00 there: the next morning, New York time
    d = retry.after_final(
        CallState.BUSY, 1, 3, 30, datetime(2026, 11, 21, 20, 50, tzinfo=ny), CALLING, ny
    )
    assert d.due_at == datetime(2026, 11, 22, 9, 0, tzinfo=ny)


def test_dial_backoff_grows_and_is_capped() -> None:
    assert [retry.dial_backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert retry.dial_backoff(30).total_seconds() == retry.BACKOFF_CAP_S
    assert retry.dial_backoff(1, jitter=0.2).total_seconds() == pytest.approx(2.4)
    assert retry.dial_backoff(1, jitter=5).total_seconds() == pytest.approx(2.5)  # jitter ≤ 25 %


# -- transitions ----------------------------------------------------------------------


def call(
    state: str = "dialing", attempts: int = 0, owner: str | None = "w1", **kw: object
) -> OutboundCall:
    base: dict[str, object] = dict(
        id="c1",
        request_id="r1",
        client="acme",
        flow_id="f",
        position=0,
        number="+919979746666",
        zone="Asia/Kolkata",
        email="",
        reference_id="",
        state=state,
        attempts=attempts,
        max_attempts=3,
        dial_errors=0,
        due_at=NOW,
        lease_owner=owner,
        lease_until=NOW + timedelta(seconds=60),
        provider_call_id=None,
        end_call_reason=None,
        last_error=None,
        created_at=NOW,
        updated_at=NOW,
    )
    base.update(kw)
    return OutboundCall(**base)  # type: ignore[arg-type]


def policy(c: OutboundCall, state: CallState, attempts: int, now: datetime) -> retry.RetryDecision:
    return retry.after_final(state, attempts, c.max_attempts, 30, now)


def test_accepted_dial_is_initiated_and_counts_an_attempt() -> None:
    ch = after_dial(call(), Accepted("p-1"), NOW, policy, "w1")
    assert ch is not None
    assert ch.values["state"] == "initiated" and ch.values["attempts"] == 1
    assert ch.values["provider_call_id"] == "p-1" and ch.values["lease_owner"] is None
    assert ch.attempt_insert == {"attempt": 1, "provider_call_id": "p-1", "started_at": NOW}


def test_a_dial_not_sent_is_requeued_with_backoff_and_burns_no_attempt() -> None:
    ch = after_dial(call(dial_errors=2), NotSent("HTTP 503"), NOW, policy, "w1")
    assert ch is not None
    assert ch.values["state"] == "queued" and "attempts" not in ch.values
    assert ch.values["dial_errors"] == 3
    assert ch.values["due_at"] == NOW + timedelta(seconds=8)
    assert ch.events[0]["kind"] == "dial_error"


def test_an_unknown_outcome_is_a_failed_attempt_never_resent_at_once() -> None:
    ch = after_dial(call(), Unknown("read timeout"), NOW, policy, "w1")
    assert ch is not None
    assert ch.values["attempts"] == 1
    assert ch.values["state"] == "queued"
    assert ch.values["due_at"] == NOW + timedelta(minutes=30)  # the retry policy, not a backoff
    last = unknown_outcome(call(attempts=2), "lease", NOW, policy, "w1")
    assert last.values["state"] == "failed" and last.values["attempts"] == 3


def test_only_an_expired_lease_on_a_dialing_call_is_settled() -> None:
    running = call()  # lease until NOW + 60 s
    assert lease_expired(running, NOW + timedelta(seconds=59), policy, "w2") is None
    assert lease_expired(call(state="initiated"), NOW + timedelta(hours=1), policy, "w2") is None
    ch = lease_expired(running, NOW + timedelta(seconds=61), policy, "w2")
    assert ch is not None and ch.values["attempts"] == 1 and ch.values["state"] == "queued"
    assert (
        ch.attempt_insert is not None and ch.attempt_insert["end_call_reason"] == "unknown_outcome"
    )


def test_a_dial_result_for_a_call_no_longer_ours_changes_nothing() -> None:
    assert after_dial(call(owner="w2"), Accepted("p"), NOW, policy, "w1") is None
    assert after_dial(call(state="completed"), Accepted("p"), NOW, policy, "w1") is None


def status(word: str, attempt: int | None = None) -> Status:
    return Status(provider_state(word), word, "provider:x", attempt=attempt)


def test_status_moves_forward_and_final_states_stay() -> None:
    c = call(state="initiated", attempts=1)
    ch = after_status(c, status("COMPLETED"), NOW, policy)
    assert ch.values["state"] == "completed"
    assert ch.attempt_update is not None and ch.attempt_update["outcome"] == "completed"
    done = call(state="completed", attempts=1)
    late = after_status(done, status("initiated"), NOW, policy)
    assert late.values == {} and late.events[0]["kind"] == "callback"  # recorded, not moved


def test_busy_is_requeued_for_the_next_attempt() -> None:
    ch = after_status(call(state="initiated", attempts=1), status("BUSY"), NOW, policy)
    assert ch.values["state"] == "queued"
    assert ch.values["due_at"] == NOW + timedelta(minutes=30)
    assert [e["to_state"] for e in ch.events] == [None, "busy", "queued"]


def test_a_status_for_an_older_attempt_moves_nothing() -> None:
    ch = after_status(
        call(state="initiated", attempts=2), status("NOANSWER", attempt=1), NOW, policy
    )
    assert ch.values == {}


def test_a_status_while_dialing_proves_the_dial_was_accepted() -> None:
    ch = after_status(call(state="dialing", attempts=0), status("completed"), NOW, policy)
    assert ch.values["state"] == "completed" and ch.values["attempts"] == 1
    assert ch.attempt_insert is not None and ch.attempt_insert["outcome"] == "completed"


def test_informational_statuses_are_only_recorded() -> None:
    ch = after_status(call(state="initiated", attempts=1), status("queue"), NOW, policy)
    assert ch.values == {}


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("COMPLETED", CallState.COMPLETED),
        ("completed", CallState.COMPLETED),
        ("ANSWER", CallState.COMPLETED),
        ("NOANSWER", CallState.NO_ANSWER),
        ("no-answer", CallState.NO_ANSWER),
        ("BUSY", CallState.BUSY),
        ("Failed", CallState.FAILED),
        ("CANCEL", CallState.CANCELLED),
        ("hangup_on_voicemail", CallState.HANGUP_ON_VOICEMAIL),
        ("initiated", CallState.INITIATED),
        ("queue", None),
        ("paused", None),
    ],
)
def test_provider_status_words(word: str, state: CallState | None) -> None:
    assert provider_state(word) == state


# -- payloads -------------------------------------------------------------------------


def test_unifonic_payload() -> None:
    p = PROVIDERS.get("unifonic").parse(
        fixture("unifonic_outbound_ivr.json", call_id="ours", provider_id="theirs")
    )
    assert p.ids[:2] == ("ours", "theirs")
    assert (p.status, p.duration, p.recording_url) == ("COMPLETED", 17, None)


def test_voiceai_payload() -> None:
    p = PROVIDERS.get("voiceai").parse(fixture("voiceai.json", provider_id="v-1"))
    assert p.ids == ("v-1",)
    assert (p.status, p.end_call_reason, p.duration) == ("completed", "agent_goodbye", 32)


def test_click2call_payload() -> None:
    p = PROVIDERS.get("click2call").parse(fixture("click2call.json", call_id="m-1"))
    assert p.ids == ("m-1",)
    assert (p.status, p.duration, p.recording_url) == (
        "ANSWER",
        23,
        "https://youraudiofilelocation/",
    )


@pytest.mark.parametrize(
    ("fmt", "doc"),
    [
        ("unifonic", []),
        ("unifonic", {"status": "COMPLETED"}),
        ("click2call", {"mid": "x"}),
        ("voiceai", {"call": {"call_id": "x"}}),
    ],
)
def test_malformed_payloads(fmt: str, doc: object) -> None:
    with pytest.raises(MalformedCallback):
        PROVIDERS.get(fmt).parse(doc)


# -- small mechanisms ------------------------------------------------------------------


def test_simulated_outcomes_are_weighted_and_repeatable() -> None:
    mix = {"completed": 0.5, "busy": 0.5}
    picks = [choose(mix, f"call-{i}", 1) for i in range(400)]
    assert picks == [choose(mix, f"call-{i}", 1) for i in range(400)]
    assert 140 < picks.count("busy") < 260
    assert {choose({"no-answer": 1.0}, f"c{i}", 1) for i in range(20)} == {"no-answer"}


def test_a_stored_bucket_refills_by_the_time_passed_and_never_over_its_capacity() -> None:
    assert refill_and_take(5.0, 100.0, 100.0, 5, 10) == (5, 0.0)
    assert refill_and_take(0.0, 100.0, 100.0, 5, 10) == (0, 0.0)
    assert refill_and_take(0.0, 100.0, 100.4, 5, 10) == (2, pytest.approx(0.0))
    assert refill_and_take(0.0, 100.0, 1000.0, 5, 10) == (5, 0.0)  # capacity: max(1, rate)
    assert refill_and_take(0.0, 100.0, 101.0, 0.5, 3) == (0, 0.5)  # 0.5/s: one every 2 s
    assert refill_and_take(0.5, 100.0, 101.0, 0.5, 3) == (1, 0.0)
    assert refill_and_take(1.0, 100.0, 90.0, 5, 3) == (1, 0.0)  # a clock stepped back


def test_leases_and_retry_after() -> None:
    assert [lease_size(r, 0.1) for r in (0.5, 5, 50, 100_000)] == [1, 1, 5, 10_000]
    assert [retry_after(r) for r in (0.2, 1, 5, 1000)] == [5, 1, 1, 1]


@pytest.mark.parametrize(
    ("fmt", "word", "state"),
    [
        ("click2call", "ANSWER", CallState.COMPLETED),
        ("unifonic", "NOANSWER", CallState.NO_ANSWER),
        ("unifonic", "queued", None),
        ("voiceai", "hangup_on_voicemail", CallState.HANGUP_ON_VOICEMAIL),
        ("voiceai", "completed", CallState.COMPLETED),  # a common word
        ("voiceai", "paused", None),
    ],
)
def test_each_format_reads_its_own_status_words(
    fmt: str, word: str, state: CallState | None
) -> None:
    assert PROVIDERS.get(fmt).state_of(word) == state


def test_a_promise_is_stored_with_its_attempt_and_reports_a_final_status() -> None:
    end = Promise("completed", 2.5, "simulated", "human_goodbye", 3)
    ch = after_dial(call(), Accepted("sim-1", end), NOW, policy, "w1")
    assert ch is not None and ch.attempt_insert is not None
    assert ch.attempt_insert["promised_at"] == NOW + timedelta(seconds=2.5)
    reported = kept_promise(ch.attempt_insert["promised"], 1)
    assert reported == Status(CallState.COMPLETED, "completed", "simulated", 1, "human_goodbye", 3)
    with pytest.raises(ValueError, match="final status"):
        Promise("ringing", 1, "simulated")  # would never end the attempt
