"""The ``simulated`` dialer: no network; each accepted call ends ``step_seconds`` later.

The outcome of each attempt is drawn from ``[dialer.simulated] outcomes`` (weights)
by a hash of the call id and attempt, so a run is repeatable. An answered call
(``completed``, ``hangup_on_voicemail``) lasted ``step_seconds``, reported in whole
seconds (rounded up) as a provider reports ``duration``. The end is a ``Promise``
returned with the acceptance: the dispatcher keeps it in the database with the
attempt and reports it, when due, through the same path a provider's callback takes
(from whichever process runs then, so a crash loses no call).
"""

from __future__ import annotations

import hashlib
import itertools
import math

import aiohttp
from pydantic import Field, field_validator

from flowhooks.integrations.dialer import DialerBackend, StatusSink
from flowhooks.outbound.model import Accepted, DialRequest, DialResult, Promise
from flowhooks.plugins import BackendSettings

SIMULATED_OUTCOMES = ("completed", "failed", "no-answer", "busy", "hangup_on_voicemail")
ANSWERED = frozenset({"completed", "hangup_on_voicemail"})  # picked up: they have a duration


class SimulatedDialerSettings(BackendSettings):
    """``[dialer.simulated]``."""

    step_seconds: float = Field(2.0, gt=0, le=3600)
    outcomes: dict[str, float] = Field(default_factory=lambda: {"completed": 1.0})

    @field_validator("outcomes")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name not in SIMULATED_OUTCOMES:
                raise ValueError(f"{name!r} is not one of {', '.join(SIMULATED_OUTCOMES)}")
            if weight < 0:
                raise ValueError(f"the weight of {name!r} is negative")
        if sum(value.values()) <= 0:
            raise ValueError("the weights must add up to more than 0")
        return value


def choose(outcomes: dict[str, float], call_id: str, attempt: int) -> str:
    """The outcome of one attempt: weighted, repeatable for the same call and attempt."""
    total = sum(outcomes.values())
    digest = hashlib.sha256(f"{call_id}:{attempt}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    running = itertools.accumulate(outcomes.values())
    return next(
        (name for name, edge in zip(outcomes, running, strict=True) if point < edge), "completed"
    )


class SimulatedDialer:
    name = "simulated"

    def __init__(self, conf: SimulatedDialerSettings) -> None:
        self.conf = conf

    async def dial(self, request: DialRequest) -> DialResult:
        outcome = choose(self.conf.outcomes, request.call_id, request.attempt)
        answered = outcome in ANSWERED
        end = Promise(
            status=outcome,
            after_seconds=self.conf.step_seconds,
            source=self.name,
            end_call_reason="human_goodbye" if outcome == "completed" else None,
            duration=math.ceil(self.conf.step_seconds) if answered else None,
        )
        return Accepted(f"sim-{request.call_id}-{request.attempt}", end)

    async def close(self) -> None:
        return None


def _build(
    conf: SimulatedDialerSettings, http: aiohttp.ClientSession, sink: StatusSink
) -> SimulatedDialer:
    return SimulatedDialer(conf)


BACKEND = DialerBackend("simulated", SimulatedDialerSettings, _build)
