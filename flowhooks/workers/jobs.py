"""Outbound calls as rows: their states and how provider statuses map onto them."""

from __future__ import annotations

from enum import StrEnum


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

_PROVIDER_STATUSES = {
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
    return _PROVIDER_STATUSES.get(status.strip().lower())
