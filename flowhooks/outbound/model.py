"""The outbound call model, pure: states, calls, changes, dial results, provider statuses.

No I/O here (no aiohttp, no SQLAlchemy): storage, dialers, the dispatcher and the
callbacks all speak these types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    QUEUED = (
        "queued"  # stored, waiting for its due time (first try, a retry, or after a dial error)
    )
    DIALING = "dialing"  # claimed by a dispatcher under a lease; the dial request is being sent
    INITIATED = "initiated"  # the provider accepted the call; it rings or is in progress
    COMPLETED = "completed"  # answered and ended
    FAILED = "failed"  # the provider could not place it (or the outcome of a dial is unknown)
    NO_ANSWER = "no-answer"  # rang out
    BUSY = "busy"  # the line was busy
    HANGUP_ON_VOICEMAIL = "hangup_on_voicemail"  # voicemail answered; the bot hung up
    CANCELLED = "cancelled"  # cancelled before it started (API), or by the provider

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def rank(self) -> int:
        """Order of progress: a state never moves to a lower rank within one attempt."""
        return _RANK[self]


FINAL = frozenset(
    {
        CallState.COMPLETED,
        CallState.FAILED,
        CallState.NO_ANSWER,
        CallState.BUSY,
        CallState.HANGUP_ON_VOICEMAIL,
        CallState.CANCELLED,
    }
)
RETRYABLE = frozenset({CallState.BUSY, CallState.NO_ANSWER, CallState.FAILED})
_RANK = {CallState.QUEUED: 0, CallState.DIALING: 1, CallState.INITIATED: 2} | {s: 3 for s in FINAL}

COMMON_STATUS_WORDS = {  # any provider's; a format adds its own (integrations/providers)
    "completed": CallState.COMPLETED,
    "complete": CallState.COMPLETED,
    "answer": CallState.COMPLETED,
    "answered": CallState.COMPLETED,
    "success": CallState.COMPLETED,
    "noanswer": CallState.NO_ANSWER,
    "no-answer": CallState.NO_ANSWER,
    "no_answer": CallState.NO_ANSWER,
    "no answer": CallState.NO_ANSWER,
    "unanswered": CallState.NO_ANSWER,
    "busy": CallState.BUSY,
    "failed": CallState.FAILED,
    "failure": CallState.FAILED,
    "error": CallState.FAILED,
    "cancel": CallState.CANCELLED,
    "cancelled": CallState.CANCELLED,
    "canceled": CallState.CANCELLED,
    "initiated": CallState.INITIATED,
    "ringing": CallState.INITIATED,
    "in-progress": CallState.INITIATED,
    "in_progress": CallState.INITIATED,
    "answering": CallState.INITIATED,
    "hangup_on_voicemail": CallState.HANGUP_ON_VOICEMAIL,
}
INFORMATIONAL = frozenset({"queue", "queued", "paused"})  # recorded, never move a call


def provider_state(status: str) -> CallState | None:
    """A provider's status word (any case) as our state; None when it is informational."""
    return COMMON_STATUS_WORDS.get(status.strip().lower())


# -- calls as stored ------------------------------------------------------------


@dataclass(frozen=True)
class OutboundCall:
    id: str
    request_id: str
    client: str
    flow_id: str
    position: int
    number: str
    zone: str
    email: str
    reference_id: str
    state: str
    attempts: int
    max_attempts: int
    dial_errors: int
    due_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    provider_call_id: str | None
    end_call_reason: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewCall:
    id: str
    position: int
    number: str
    zone: str
    due_at: datetime


@dataclass(frozen=True)
class NewRequest:
    id: str
    client: str
    flow_id: str
    delay_minutes: int
    email: str
    reference_id: str
    key: str
    fingerprint: str
    key_expires_at: datetime
    max_attempts: int
    calls: Sequence[NewCall]
    answer: dict[str, str]
    request_id: str
    webhook_id: str | None = None  # this request's call_status events go to this endpoint
    webhook_url: str | None = None  # or to this one-off URL (issue 25)


@dataclass(frozen=True)
class Pace:
    """How fast a client's calls may be dialed, across every dispatcher."""

    per_second: float  # max_calls_per_second
    max_concurrent: int  # calls dialing or initiated at once
    max_batch: int = 500  # calls one dispatcher turn claims at most


@dataclass(frozen=True)
class Stored:
    """What createOutbound answers: its own new request, or the one a key already holds."""

    answer: dict[str, str]
    created: bool
    conflict: bool = False


@dataclass
class CallChange:
    """What to write for one call: new column values, an attempt row, events."""

    values: dict[str, Any] = field(default_factory=dict)
    attempt_insert: dict[str, Any] | None = None
    attempt_update: dict[str, Any] | None = None  # applied to the call's current attempt
    events: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None  # an attempt ended so (a call_status event is written with it)


# -- a dial and what came of it ----------------------------------------------------


@dataclass(frozen=True)
class DialRequest:
    call_id: str  # our id: providers echo it in their status callbacks
    number: str  # E.164
    flow_id: str
    client: str
    email: str
    reference_id: str
    attempt: int
    within_seconds: float | None = None  # the dial returns by then; unsent by then: NotSent


@dataclass(frozen=True)
class Promise:
    """The final status a dialer will report for a call it accepted, ``after_seconds`` on.

    The simulated dialer ends its calls so. The promise is stored with the attempt, so
    whichever process runs when it falls due reports it (``workers/dispatcher.py``).
    """

    status: str  # a status word, as a provider's callback says it
    after_seconds: float
    source: str  # recorded as the status's source, e.g. "simulated"
    end_call_reason: str | None = None
    duration: int | None = None  # seconds; answered calls only

    def __post_init__(self) -> None:
        state = provider_state(self.status)
        if state is None or not state.final:  # kept until it ends the attempt: it must
            raise ValueError(f"a promise is a final status, not {self.status!r}")


@dataclass(frozen=True)
class Accepted:
    provider_call_id: str | None
    promise: Promise | None = None


@dataclass(frozen=True)
class NotSent:
    error: str


@dataclass(frozen=True)
class Unknown:
    error: str


DialResult = Accepted | NotSent | Unknown


# -- what a provider (or the simulator) reported -------------------------------------


@dataclass(frozen=True)
class Status:
    """A status a provider (or the simulator) reported for a call."""

    state: CallState | None  # None: informational (queue, paused), recorded only
    word: str  # as the provider said it
    source: str
    attempt: int | None = None  # known when matched by the provider's id for an attempt
    end_call_reason: str | None = None
    duration: int | None = None
    recording_url: str | None = None
    raw: Any = None
    payload_hash: str | None = None
