"""The ``simulated`` dialer: no network; each accepted call ends on a timer.

The outcome of each attempt is drawn from ``[dialer.simulated] outcomes`` (weights)
by a hash of the call id and attempt, so a run is repeatable. It reports the final
status through the same path a provider's callback takes.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools

import aiohttp
from pydantic import Field, field_validator

from flowhooks.integrations.dialer import DialerBackend, StatusSink
from flowhooks.outbound.model import Accepted, DialRequest, DialResult
from flowhooks.plugins import BackendSettings

SIMULATED_OUTCOMES = ("completed", "failed", "no-answer", "busy", "hangup_on_voicemail")


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

    def __init__(self, conf: SimulatedDialerSettings, sink: StatusSink) -> None:
        self.conf = conf
        self.sink = sink
        self._tasks: set[asyncio.Task[None]] = set()

    async def dial(self, request: DialRequest) -> DialResult:
        outcome = choose(self.conf.outcomes, request.call_id, request.attempt)
        task = asyncio.create_task(self._finish(request.call_id, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Accepted(f"sim-{request.call_id}-{request.attempt}")

    async def _finish(self, call_id: str, outcome: str) -> None:
        await asyncio.sleep(self.conf.step_seconds)
        reason = "human_goodbye" if outcome == "completed" else None
        await self.sink(call_id, outcome, reason)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _build(
    conf: SimulatedDialerSettings, http: aiohttp.ClientSession, sink: StatusSink
) -> SimulatedDialer:
    return SimulatedDialer(conf, sink)


BACKEND = DialerBackend("simulated", SimulatedDialerSettings, _build)
