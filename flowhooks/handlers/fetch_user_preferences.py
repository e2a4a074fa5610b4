"""Reads every $user.key.* stored for a caller (SPEC 2.6)."""

from __future__ import annotations

from pydantic import Field

from flowhooks.handlers import caller
from flowhooks.method import Context, Keys
from flowhooks.storage import prefs

METHOD = "fetchUserPreferences"


class Input(caller.CallerKeys):
    pass


class Output(Keys):
    userFound: bool = Field(description="true when anything is stored for the number")
    user_keys: str = Field(alias="$user.key.*", description="every stored preference")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = caller.client_name(ctx, keys.clientID)
    number = caller.number(ctx, client, keys.contactNumber, "contactNumber")
    stored = await prefs.fetch(ctx.db, client, number)
    return {"userFound": bool(stored), **{f"$user.key.{k}": v for k, v in stored.items()}}
