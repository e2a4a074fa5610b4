"""A personalised short link to a chat bot: the flow's keys ride along (SPEC 2.8)."""

from __future__ import annotations

import hmac
import uuid

from pydantic import Field

from flowhooks.envelope import keys_as_sent
from flowhooks.errors import HandlerFailed
from flowhooks.links.urls import MAX_URL_CHARS, bot_url
from flowhooks.method import Context, Keys

METHOD = "linkcreation"
OWN_KEYS = frozenset({"cli", "botid", "token"})  # added by name, or a secret


class Input(Keys):
    cli: str = Field(description="the caller's number", examples=["918160712345"])
    botid: str = Field(description="a [bots.ID] of the config", examples=["123"])
    token: str = Field(description="the bot's token (a secret)")


class Output(Keys):
    shortenUrl: str = Field(description="the short link to the bot, personalised")
    botUniqueID: str = Field(description="the uid the bot URL carries")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    bot = ctx.bots.get(keys.botid.strip())
    if bot is None:
        raise HandlerFailed("BOT_NOT_FOUND", f"no bot {keys.botid.strip()[:64]!r} is configured")
    expected = bot.token.get_secret_value().encode()
    if not hmac.compare_digest(keys.token.encode(), expected):
        raise HandlerFailed("UNAUTHORIZED", "token is not this bot's token")
    uid = str(uuid.uuid4())
    extra = [(n, v) for n, v in keys_as_sent(ctx.envelope) if n.lower() not in OWN_KEYS]
    url = bot_url(bot.url, extra, keys.cli, keys.botid.strip(), uid)
    if len(url) > MAX_URL_CHARS:
        raise HandlerFailed(
            "URL_TOO_LONG",
            f"the bot link would be {len(url)} characters; at most {MAX_URL_CHARS} are allowed",
        )
    link = await ctx.links.create(bot.client, url, ctx.now)
    return {"shortenUrl": ctx.links.short_url(link.code), "botUniqueID": uid}
