"""The outbound calls of one process: the retry policy of each client, request pacing,
provider statuses applied to calls, and the dispatcher's wake-up.

Handlers (createOutbound), the provider callbacks and the simulated dialer reach the
outbound side only through ``Outbound``; the dispatcher loop attaches itself to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowhooks.batching import GroupCommit
from flowhooks.calendar import BusinessCalendar, Calendars
from flowhooks.clock import Clock, SystemClock
from flowhooks.outbound import retry
from flowhooks.outbound.model import (
    CallChange,
    CallState,
    NewRequest,
    OutboundCall,
    Status,
    Stored,
)
from flowhooks.outbound.transitions import Policy, after_status, attempt_open
from flowhooks.settings import Settings
from flowhooks.storage import Storage
from flowhooks.storage import outbound as store
from flowhooks.webhooks import events


def make_policy(settings: Settings, calendars: Mapping[str, BusinessCalendar]) -> Policy:
    """The retry policy of each call's client: its retry_minutes and calling calendar."""

    def policy(
        call: OutboundCall, state: CallState, attempts: int, now: datetime
    ) -> retry.RetryDecision:
        client = settings.clients.get(call.client) or settings.clients["default"]
        calendar = calendars.get(client.calling_calendar or "")
        zone = ZoneInfo(call.zone) if calendar is not None else None
        return retry.after_final(
            state, attempts, call.max_attempts, client.retry_minutes, now, calendar, zone
        )

    return policy


class Outbound:
    """What the outbound side offers the rest of a process (a resource of the app)."""

    def __init__(
        self,
        settings: Settings,
        db: Storage,
        calendars: Calendars,
        planner: events.Planner = events.NO_WEBHOOKS,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.policy = make_policy(settings, calendars)
        self.planner = planner
        self._clock = clock or SystemClock()
        self._delivery_wake: Callable[[], None] | None = None
        self._wake: Callable[[], None] | None = None
        self._creates: GroupCommit[tuple[NewRequest, datetime], Stored] = GroupCommit(
            lambda batch: store.create_many(self.db, batch)
        )

    async def create(self, req: NewRequest, now: datetime) -> Stored:
        """Store a createOutbound request (with others arriving meanwhile, in one
        transaction); answered once committed. The dispatcher is woken for new calls."""
        stored = await self._creates.submit((req, now))
        if stored.created:
            self.wake_dispatcher()
        return stored

    def attach(self, wake: Callable[[], None] | None) -> None:
        """The running dispatcher's wake-up (None when it stops)."""
        self._wake = wake

    def wake_dispatcher(self) -> None:
        """New work is due: the dispatcher of this process (if any) looks at once."""
        if self._wake is not None:
            self._wake()

    def attach_deliveries(self, wake: Callable[[], None] | None) -> None:
        """The running delivery loop's wake-up (None when it stops)."""
        self._delivery_wake = wake

    def wake_deliveries(self) -> None:
        """New deliveries are committed: the delivery loop of this process looks at once."""
        if self._delivery_wake is not None:
            self._delivery_wake()

    def _notifier(self, planned: list[events.NewDelivery]) -> store.Notify:
        """The call_status deliveries of an attempt's outcome, written with the change."""

        def notify(
            call: OutboundCall, outcome: str, attempt: Mapping[str, Any]
        ) -> list[events.NewDelivery]:
            found = self.planner.call_status(call, outcome, attempt, self._clock.now())
            planned.extend(found)
            return found

        return notify

    async def change(
        self, call_id: str, decide: Callable[[OutboundCall], CallChange | None]
    ) -> OutboundCall | None:
        """The one path every change of a call takes (dispatcher, callbacks, simulator)."""
        planned: list[events.NewDelivery] = []
        changed = await store.change(self.db, call_id, decide, self._notifier(planned))
        if planned:
            self.wake_deliveries()
        return changed

    async def cancel(
        self, client: str, req_id: str, now: datetime
    ) -> tuple[list[str], list[str]] | None:
        """Cancel a request's calls that have not started (each a cancelled call_status)."""
        planned: list[events.NewDelivery] = []
        result = await store.cancel(self.db, client, req_id, now, self._notifier(planned))
        if planned:
            self.wake_deliveries()
        return result

    async def apply_provider_status(
        self, call_id: str, status: Status, now: datetime, once: bool = False
    ) -> OutboundCall | None:
        """A provider's (or the simulator's) status applied to a call; None if unknown.

        The one path for HTTP callbacks and the simulated dialer alike. ``once``: a
        status that ends its attempt or records nothing (a dialer's promise, which a
        second process may hold after the first one's hold ran out).
        """

        def decide(call: OutboundCall) -> CallChange | None:
            if once and not attempt_open(call, status.attempt):
                return None  # reported already: nothing arrived to record
            return after_status(call, status, now, self.policy)

        return await self.change(call_id, decide)
