"""The retry policy: pure functions the dispatcher and the callbacks call.

* A call that ends ``busy``, ``no-answer`` or ``failed`` is tried again after
  ``retry_minutes``, moved into the client's calling calendar, while fewer than
  ``max_attempts`` attempts reached the provider.
* A dial the provider refused or that could not be sent (connection refused, 5xx,
  429) did not reach anyone: it is retried after ``dial_backoff(errors)`` =
  min(cap, base * 2**(errors-1)) * (1 + jitter), jitter in [0, 0.25), and burns
  no attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flowhooks.calendar import BusinessCalendar
from flowhooks.outbound.model import RETRYABLE, CallState

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    due_at: datetime | None = None
    reason: str = ""


def due_in_calendar(
    moment: datetime, calendar: BusinessCalendar | None, zone: ZoneInfo | None
) -> datetime | None:
    """``moment`` moved to the calendar's next open minute (None: none within 366 days)."""
    if calendar is None:
        return moment
    return calendar.next_open_moment(moment, zone)


def after_final(
    state: CallState,
    attempts: int,
    max_attempts: int,
    retry_minutes: int,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    zone: ZoneInfo | None = None,
) -> RetryDecision:
    """Whether a call that just reached ``state`` after ``attempts`` attempts is tried again."""
    if state not in RETRYABLE:
        return RetryDecision(False, reason=f"{state.value} is not retried")
    if attempts >= max_attempts:
        return RetryDecision(False, reason=f"{attempts} of {max_attempts} attempts used")
    due = due_in_calendar(now + timedelta(minutes=retry_minutes), calendar, zone)
    if due is None:
        return RetryDecision(False, reason="the calling calendar has no open minute")
    return RetryDecision(True, due, reason=f"attempt {attempts + 1} of {max_attempts}")


def dial_backoff(errors: int, jitter: float = 0.0) -> timedelta:
    """Wait before re-sending a dial that did not reach the provider (``errors`` >= 1)."""
    seconds = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(errors - 1, 0))
    return timedelta(seconds=seconds * (1 + min(max(jitter, 0.0), 0.25)))
