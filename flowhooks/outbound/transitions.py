"""How a call moves: pure functions from (call, what happened) to the change to write.

The dispatcher (after a dial), the provider callbacks and the simulated dialer all
come through here, so one rule holds everywhere: within an attempt a state only
moves forward; a final state never moves back; a status for an older attempt is
recorded but moves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flowhooks.outbound import retry
from flowhooks.outbound.model import (
    Accepted,
    CallChange,
    CallState,
    DialResult,
    NotSent,
    OutboundCall,
    Promise,
    Status,
    Unknown,
    provider_state,
)

Policy = Callable[[OutboundCall, CallState, int, datetime], retry.RetryDecision]


def _event(
    call: OutboundCall, kind: str, to: str | None, source: str, now: datetime, **kw: Any
) -> dict[str, Any]:
    return {
        "attempt": kw.pop("attempt", call.attempts or 1),
        "kind": kind,
        "from_state": kw.pop("from_state", call.state),
        "to_state": to,
        "source": source,
        "at": now,
        **kw,
    }


def _free(now: datetime) -> dict[str, Any]:
    return {"lease_owner": None, "lease_until": None, "updated_at": now}


def _end(
    call: OutboundCall, state: CallState, now: datetime, policy: Policy, attempts: int, source: str
) -> CallChange:
    """The call's attempt ended in ``state``: either queued for another attempt or final."""
    decision = policy(call, state, attempts, now)
    ended = _event(call, "state", state.value, source, now, attempt=attempts)
    if decision.retry and decision.due_at is not None:
        requeue = _event(
            call,
            "state",
            CallState.QUEUED.value,
            "retry-policy",
            now,
            attempt=attempts + 1,
            from_state=state.value,
            detail=decision.reason,
        )
        values = {"state": CallState.QUEUED.value, "due_at": decision.due_at, "dial_errors": 0}
        return CallChange(
            values={**values, **_free(now)}, events=[ended, requeue], outcome=state.value
        )
    ended["detail"] = decision.reason
    return CallChange(
        values={"state": state.value, **_free(now)}, events=[ended], outcome=state.value
    )


def after_dial(
    call: OutboundCall,
    result: DialResult,
    now: datetime,
    policy: Policy,
    source: str,
    jitter: float = 0.0,
) -> CallChange | None:
    """What a dial's result does to a call that is still ours (``dialing``, our lease)."""
    if call.state != CallState.DIALING.value or call.lease_owner != source:
        return None  # a callback or another worker got there first: leave it
    attempt = call.attempts + 1
    if isinstance(result, Accepted):
        return CallChange(
            values={
                "state": CallState.INITIATED.value,
                "attempts": attempt,
                "dial_errors": 0,
                "provider_call_id": result.provider_call_id,
                "last_error": None,
                **_free(now),
            },
            attempt_insert={
                "attempt": attempt,
                "provider_call_id": result.provider_call_id,
                "started_at": now,
                **promised(result.promise, now),
            },
            events=[_event(call, "state", CallState.INITIATED.value, source, now, attempt=attempt)],
        )
    if isinstance(result, NotSent):
        errors = call.dial_errors + 1
        due = now + retry.dial_backoff(errors, jitter)
        return CallChange(
            values={
                "state": CallState.QUEUED.value,
                "dial_errors": errors,
                "due_at": due,
                "last_error": result.error,
                **_free(now),
            },
            events=[
                _event(
                    call,
                    "dial_error",
                    CallState.QUEUED.value,
                    source,
                    now,
                    attempt=attempt,
                    detail=f"{result.error}; re-sent at {due.isoformat()}",
                )
            ],
        )
    assert isinstance(result, Unknown)
    return unknown_outcome(call, result.error, now, policy, source)


def promised(promise: Promise | None, now: datetime) -> dict[str, Any]:
    """The attempt columns that keep a dialer's promise (none without one)."""
    if promise is None:
        return {}
    return {
        "promised": {
            "status": promise.status,
            "source": promise.source,
            "end_call_reason": promise.end_call_reason,
            "duration": promise.duration,
        },
        "promised_at": now + timedelta(seconds=promise.after_seconds),
    }


def kept_promise(promised: dict[str, Any], attempt: int) -> Status:
    """The status a stored promise reports for its attempt."""
    word = str(promised["status"])
    return Status(
        state=provider_state(word),
        word=word,
        source=str(promised.get("source") or "dialer"),
        attempt=attempt,
        end_call_reason=promised.get("end_call_reason"),
        duration=promised.get("duration"),
    )


def attempt_open(call: OutboundCall, attempt: int | None) -> bool:
    """Whether ``attempt`` is the call's current attempt and still under way."""
    return call.attempts == attempt and call.state == CallState.INITIATED.value


def unknown_outcome(
    call: OutboundCall, error: str, now: datetime, policy: Policy, source: str
) -> CallChange:
    """A dial whose outcome is unknown (timeout after sending, a worker died mid-dial).

    The phone may have rung, so it is never re-sent at once: the attempt counts as
    failed and the retry policy decides (``retry_minutes`` later, if attempts remain).
    """
    attempt = call.attempts + 1
    change = _end(call, CallState.FAILED, now, policy, attempt, source)
    change.values.update(attempts=attempt, last_error=error)
    change.attempt_insert = {
        "attempt": attempt,
        "started_at": now,
        "ended_at": now,
        "outcome": CallState.FAILED.value,
        "end_call_reason": "unknown_outcome",
    }
    change.events[0]["detail"] = f"{error}; outcome unknown, not re-sent"
    return change


def lease_expired(
    call: OutboundCall, now: datetime, policy: Policy, source: str
) -> CallChange | None:
    """A call still ``dialing`` after its lease: the worker died mid-dial (outcome unknown)."""
    if call.state != CallState.DIALING.value or call.lease_until is None or call.lease_until >= now:
        return None  # settled meanwhile, or the lease still runs
    return unknown_outcome(
        call, "the worker dialing it stopped (lease expired)", now, policy, source
    )


def after_status(call: OutboundCall, status: Status, now: datetime, policy: Policy) -> CallChange:
    """A provider's status: moves the current attempt forward, or is only recorded."""
    record = _event(
        call,
        "callback",
        None,
        status.source,
        now,
        attempt=status.attempt or max(call.attempts, 1),
        detail=status.word,
        raw=status.raw,
        payload_hash=status.payload_hash,
        from_state=call.state,
    )
    current = CallState(call.state)
    stale = status.attempt is not None and status.attempt != call.attempts
    live = current in (CallState.DIALING, CallState.INITIATED)
    new = status.state
    if stale or not live or new is None or new.rank <= current.rank:
        return CallChange(events=[record])  # late, repeated or informational: kept, moves nothing
    change = CallChange(events=[record])
    attempts = call.attempts
    if current is CallState.DIALING:  # the provider took a dial we had not heard back from
        attempts += 1
        change.values.update(attempts=attempts, dial_errors=0)
        change.attempt_insert = {"attempt": attempts, "started_at": now}
    if new is CallState.INITIATED:
        change.values.update(state=new.value, **_free(now))
        change.events.append(_event(call, "state", new.value, status.source, now, attempt=attempts))
        return change
    ended = _end(call, new, now, policy, attempts, status.source)
    change.values.update(ended.values, end_call_reason=status.end_call_reason)
    change.events.extend(ended.events)
    change.outcome = ended.outcome
    ending = {
        "attempt": attempts,
        "ended_at": now,
        "outcome": new.value,
        "end_call_reason": status.end_call_reason,
        "duration": status.duration,
        "recording_url": status.recording_url,
    }
    if change.attempt_insert is not None:
        change.attempt_insert.update(ending)
    else:
        change.attempt_update = ending
    return change


def no_final_status(
    call: OutboundCall, now: datetime, minutes: int, source: str
) -> CallChange | None:
    """An initiated call the provider never reported an end for, after ``minutes``.

    It may have been answered, so it is not retried: it ends ``failed`` with the
    reason ``no_final_status``, and stops counting against max_concurrent_calls.
    """
    if call.state != CallState.INITIATED.value:
        return None
    detail = f"no final status within {minutes} minutes; not retried (it may have been answered)"
    return CallChange(
        values={
            "state": CallState.FAILED.value,
            "end_call_reason": "no_final_status",
            **_free(now),
        },
        attempt_update={
            "attempt": call.attempts,
            "ended_at": now,
            "outcome": CallState.FAILED.value,
            "end_call_reason": "no_final_status",
        },
        events=[_event(call, "state", CallState.FAILED.value, source, now, detail=detail)],
        outcome=CallState.FAILED.value,
    )
