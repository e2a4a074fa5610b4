"""Picks the unpaused agent of a DID that has waited longest since its last call (SPEC 2.7)."""

from __future__ import annotations

from pydantic import Field

from flowhooks.handlers import caller
from flowhooks.method import Context, Keys
from flowhooks.storage import agents

METHOD = "allocateAgent"


class Input(Keys):
    did: str = Field(description="the dialled number the agents serve", examples=["8068000000"])
    clientID: str | None = Field(None, description="the client (default: default)")


class Output(Keys):
    agentAvailable: bool = Field(description="false when every agent of the DID is paused")
    agentCli: str = Field(description="the chosen agent's number, E.164; empty if none")
    agentName: str = Field(description="the chosen agent's name; empty if none")


async def handle(ctx: Context, keys: Input) -> Output:
    client = caller.client_name(ctx, keys.clientID)
    did = caller.number(ctx, client, keys.did, "did")
    agent = await agents.allocate(ctx.db, client, did, ctx.now)
    if agent is None:
        return Output(agentAvailable=False, agentCli="", agentName="")
    return Output(agentAvailable=True, agentCli=agent.cli, agentName=agent.name)
