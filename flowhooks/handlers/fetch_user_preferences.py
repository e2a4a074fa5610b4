"""Reads every $user.key.* stored for a caller (SPEC 2.6)."""

from __future__ import annotations

from pydantic import Field

from flowhooks.dispatch.registry import Context, Keys
from flowhooks.handlers import common
from flowhooks.storage import prefs

METHOD = "fetchUserPreferences"


class Input(common.CallerKeys):
    pass


class Output(Keys):
    userFound: bool = Field(description="true when anything is stored for the number")
    user_keys: str = Field(alias="$user.key.*", description="every stored preference")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = common.client_name(ctx, keys.clientID)
    number = common.number(ctx, client, keys.contactNumber, "contactNumber")
    stored = await prefs.fetch(ctx.services.db, client, number)
    return {"userFound": bool(stored), **{f"$user.key.{k}": v for k, v in stored.items()}}
