"""Stores the $user.key.* sent for a caller; an empty value deletes the key (SPEC 2.6)."""

from __future__ import annotations

import re

from pydantic import Field

from flowhooks.errors import InvalidKeys, KeyProblem
from flowhooks.handlers import caller
from flowhooks.method import Context, Keys
from flowhooks.storage import prefs

METHOD = "updateUserPreferences"
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_VALUE_BYTES = 1024
MAX_KEYS = 100


class Input(caller.CallerKeys):
    pass


class Output(Keys):
    user_keys: str = Field(alias="$user.key.*", description="every preference now stored")


def _changes(ctx: Context) -> dict[str, str]:
    problems = []
    for name, value in ctx.envelope.user_keys.items():
        if not NAME.fullmatch(name):
            problems.append(KeyProblem(f"$user.key.{name}", "name must match [A-Za-z0-9_.-]{1,64}"))
        elif len(value.encode()) > MAX_VALUE_BYTES:
            problems.append(
                KeyProblem(f"$user.key.{name}", f"value is over {MAX_VALUE_BYTES} bytes")
            )
    if not ctx.envelope.user_keys:
        problems.append(KeyProblem("$user.key.*", "send at least one $user.key.NAME"))
    if problems:
        raise InvalidKeys(problems)
    return dict(ctx.envelope.user_keys)


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = caller.client_name(ctx, keys.clientID)
    number = caller.number(ctx, client, keys.contactNumber, "contactNumber")
    changes = _changes(ctx)
    try:
        stored = await prefs.update(ctx.db, client, number, changes, ctx.now, MAX_KEYS)
    except prefs.TooManyPreferences as exc:
        raise InvalidKeys([KeyProblem("$user.key.*", str(exc))]) from None
    return {f"$user.key.{k}": v for k, v in stored.items()}
