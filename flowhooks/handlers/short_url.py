"""Shortens a link for an SMS: the client of the custToken owns it (SPEC 2.8)."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowhooks.errors import HandlerFailed
from flowhooks.links.urls import check_long_url, expire_days
from flowhooks.method import Context, Keys

METHOD = "shortURL"


class Input(Keys):
    longUrl: str = Field(
        description="the http(s) URL to shorten, at most 2048 characters",
        examples=["https://acme.example/pay?invoice=42"],
    )
    custToken: str = Field(description="the client's cust_token (a secret)")
    expireDays: str | None = Field(
        None, description="days until the link answers 410 (1-3650; default [links])"
    )

    @field_validator("longUrl")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_long_url(value)

    @field_validator("expireDays")
    @classmethod
    def _days(cls, value: str | None) -> str | None:
        expire_days(value)
        return value


class Output(Keys):
    shortUrl: str = Field(description="{public_base_url}/s/{code}")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    client = ctx.clients.for_cust_token(keys.custToken)
    if client is None:
        raise HandlerFailed("UNAUTHORIZED", "custToken is not a client's cust_token")
    link = await ctx.links.create(client, keys.longUrl, ctx.now, expire_days(keys.expireDays))
    return {"shortUrl": ctx.links.short_url(link.code)}
