"""Keys handlers share, and reading them: the client, the caller's number, a calendar."""

from __future__ import annotations

from pydantic import Field

from flowhooks.calendar import BusinessCalendar
from flowhooks.errors import InvalidKeys, KeyProblem
from flowhooks.method import Context, Keys
from flowhooks.phones import NumberRefused


def client_name(ctx: Context, client_id: str | None) -> str:
    """The ``clientID`` sent (default ``default``); 422 when no such client is configured."""
    name = client_id or "default"
    if name not in ctx.clients:
        raise InvalidKeys([KeyProblem("clientID", f"unknown client {name!r}")])
    return name


def calendar_named(ctx: Context, name: str) -> BusinessCalendar:
    """The ``[calendars.NAME]`` a ``calendar`` key names; 422 listing the known ones."""
    found = ctx.calendars.find(name)
    if found is None:
        known = ", ".join(sorted(ctx.calendars))
        raise InvalidKeys([KeyProblem("calendar", f"unknown calendar; known: {known}")])
    return found


def number(ctx: Context, client: str, text: str, key: str) -> str:
    """E.164 of a number key, read in the client's region; 422 naming ``key`` if it is not one."""
    try:
        return ctx.clients.number(client, text)
    except NumberRefused as exc:
        raise InvalidKeys([KeyProblem(key, str(exc))]) from None


class CallerKeys(Keys):
    """The keys naming a caller: their number (``contactNumber`` or ``cli``) and client."""

    contactNumber: str = Field(
        description="the caller's number, any format (or send it as cli)",
        examples=["9979746666"],
        json_schema_extra={"aliases": ["cli"]},
    )
    clientID: str | None = Field(None, description="the client (default: default)")
