"""Pauses, unpauses or toggles a direct-dial agent's break status (SPEC 2.7)."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowhooks.errors import HandlerFailed
from flowhooks.handlers import caller
from flowhooks.method import Context, Keys
from flowhooks.storage import agents
from flowhooks.storage.agents import PauseAction

METHOD = "updatePauseStatusForCLI"


class Input(Keys):
    cli: str = Field(description="the agent's number, any format", examples=["9800000001"])
    pauseStatus: PauseAction = Field(
        PauseAction.TOGGLE, description="pause, unpause or toggle", examples=["pause"]
    )
    clientID: str | None = Field(None, description="the client (default: default)")

    @field_validator("pauseStatus", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Output(Keys):
    cli_pause_update: str = Field(description="paused or unpaused: the state after the change")
    agentName: str = Field(description="the agent's name")


async def handle(ctx: Context, keys: Input) -> Output:
    client = caller.client_name(ctx, keys.clientID)
    cli = caller.number(ctx, client, keys.cli, "cli")
    agent = await agents.set_pause(ctx.db, client, cli, keys.pauseStatus, ctx.now, ctx.request_id)
    if agent is None:
        raise HandlerFailed("AGENT_NOT_FOUND", f"no agent {cli} for client {client}")
    return Output(cli_pause_update="paused" if agent.paused else "unpaused", agentName=agent.name)
