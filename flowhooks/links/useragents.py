"""Who opened a link: a person, or a link previewer / crawler / script (SPEC 2.8).

Previewers fetch a link the moment it is sent in a chat or SMS, before anyone taps it;
counting them apart keeps ``clicks`` about people. The list is small on purpose: the
fetchers that open SMS and chat links, the big crawlers, and command-line clients.
"""

from __future__ import annotations

import re
from functools import lru_cache

BOT_MARKERS = (
    "whatsapp",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "applebot",
    "googlebot",
    "google-inspectiontool",
    "adsbot-google",
    "bingbot",
    "bingpreview",
    "yandexbot",
    "baiduspider",
    "duckduckbot",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp/",
    "go-http-client",
    "okhttp",
    "java/",
    "headlesschrome",
)
# any other self-declared robot: "SomeBot/1.0", "ExampleBot;", a "+https://" info page,
# "crawler", "spider" (a phone model such as "CUBOT X30" is not one)
_GENERIC = re.compile(r"bot[/;]|\bbot\b|\+https?://|crawler|spider|preview")


def is_bot(user_agent: str | None, method: str = "GET") -> bool:
    """A previewer, crawler or script (a HEAD request or no User-Agent counts as one)."""
    if method == "HEAD" or not user_agent:
        return True
    return _is_bot_agent(user_agent[:MAX_AGENT_CHARS])


MAX_AGENT_CHARS = 512


@lru_cache(maxsize=4096)  # performance: clicks repeat a few agents; 2 µs of matching each
def _is_bot_agent(user_agent: str) -> bool:
    ua = user_agent.lower()
    return any(marker in ua for marker in BOT_MARKERS) or _GENERIC.search(ua) is not None
