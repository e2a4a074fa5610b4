"""Who opened a link: a person, a link previewer, or a crawler / script (SPEC 2.8).

Previewers fetch a link the moment it is sent in a chat or SMS, before anyone taps it;
counting them apart keeps ``clicks`` about people. The order of the checks:

1. a HEAD request or no User-Agent is a bot;
2. the chat/SMS previewers below (our own list, first: a previewer is never a person);
3. the three well-kept crawler lists combined (``crawlerlists``), after removing from the
   agent the fragments of real browsers that the lists mistake for crawlers (``PEOPLE``);
4. anything else is a person.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache, lru_cache

from flowhooks.links import crawlerlists
from flowhooks.links.prefilter import KeywordIndex, Rule


class Visitor(StrEnum):
    PERSON = "person"
    PREVIEWER = "previewer"
    BOT = "bot"


# Chat and SMS apps' link-preview fetchers, as their makers document them (regexes,
# case-insensitive). Sources: tests/fixtures/useragents/README.md.
PREVIEWERS = (
    r"whatsapp",  # WhatsApp; Signal's previews send "WhatsApp/2" too
    r"facebookexternalhit|facebookcatalog|meta-externalagent|meta-externalhit|facebot",
    r"slackbot|slack-imgproxy",
    r"twitterbot",  # X; iMessage sends "facebookexternalhit/1.1 Facebot Twitterbot/1.0"
    r"telegrambot",
    r"discordbot",
    r"linkedinbot",
    r"skypeuripreview|microsoftpreview/",  # Skype, Microsoft Teams, Outlook
    r"viberurldownloader|^viber$",  # not "... Viber/27.4": Viber's in-app browser
    r"bluesky cardyb|blueskypreviewbot",
    r"snap url preview service|snapurlpreview",
    r"kakaotalk-scrap",
    r"line-poker",
    r"vkshare",
    r"odklbot",
    r"\(mastodon/",  # "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)"
    r"synapse \(bot;",  # Matrix (Element)
    r"mattermost-bot",
    r"zulipurlpreview",
    r"nextcloud server crawler",  # Nextcloud Talk
    r"google-pagerenderer|developers\.google\.com/\+/web/snippet",  # Google Chat
    r"yahoo link preview",
    r"discourse forum onebox",
    r"steamchaturllookup",
    r"keybasebot",
    r"dingtalkbot-linkservice",
    r"chatwork linkpreview",
    r"gg peekbot",
)
_PREVIEWER = KeywordIndex([Rule("previewer", p, re.IGNORECASE) for p in PREVIEWERS])

# Fragments of real browsers' and in-app browsers' agents that the union of the lists
# mistakes for crawlers; removed before the lists are matched (as CrawlerDetect does with
# its own exclusions), so a crawler's own name elsewhere in the agent still counts.
PEOPLE = (
    # phone, tablet and TV models named like crawlers
    r"HTC[ _]?(?:J )?Butterfly\w*",
    r"(?:Cherry|O\+|Ultra|View) ?Sonic",
    r"SMART[ _]4G[ _]Speedy",
    r"Android [\d.]+; Expanse\)",
    r"XBot[ _](?:Senior|Junior)",
    r"VR BOT \d+",
    r"\b[MC][ _]bot[ _]tab",
    r"\bBOTECH\b",
    r"Fever_Plus\w*",
    r"Spider 8\)",
    r"AUPO Zeus",
    r"X428 Astute",
    r"OPPO A33m\b",
    r"DESAY TS1008",
    r"Build/GreenDemon",
    r"\bI-?Buddy",
    r"X10project",
    r"yandexstation\w*",
    r"Build/AP3A\.240617\.008",  # a current Android build, not a crawler's mark
    # browsers, and apps' in-app browsers
    r"SogouMSE,SogouMobileBrowser/[\d.]+",
    r"SogouSearch Android[\d.]+",
    r"ru\.yandex\.searchplugin/[\d.]+",
    r"com\.yandex\.zen/[\d.]+",
    r"Viber/[\d.]+",
    r"QQDownload \d+",
    r"libwww(?:-FM)?/[\d.]+\w*",  # Lynx, Mosaic, Amaya (not libwww-perl)
    r"AmigaVoyager/",
    r"Fluid/[\d.]+(?= Safari/)",
    r"Banca Caboto",
    r"Cronet/[\d.]+",  # Chromium's network stack in Android apps
    r"CRONY-\d+",
    r"sprd-\w+/",  # a Spreadtrum phone's model token
    r"Demonstration only",
)
_PEOPLE = re.compile("|".join(PEOPLE), re.IGNORECASE)

MAX_AGENT_CHARS = 512


class Lists:
    """The crawler lists of ``sources`` (all three by default), searched through one index."""

    def __init__(self, sources: tuple[str, ...] = crawlerlists.SOURCES) -> None:
        rules = [rule for rule in crawlerlists.all_rules() if rule.source in sources]
        self.index = KeywordIndex(rules)
        self._cd_exclusions = crawlerlists.crawlerdetect_exclusions()

    def crawler(self, user_agent: str, exclude_people: bool = True) -> str | None:
        """The list that knows ``user_agent`` as a crawler, ``PEOPLE`` fragments removed."""
        found = self._match(user_agent)
        if found is None or not exclude_people:
            return found
        stripped = _PEOPLE.sub("", user_agent)  # only now: it costs more than the search
        return found if stripped == user_agent else self._match(stripped)

    def _match(self, agent: str) -> str | None:
        texts: dict[str, str] = {}

        def text(kind: str) -> str:
            if kind not in texts:  # CrawlerDetect's own exclusions, only when needed
                texts[kind] = agent if kind == "agent" else self._cd_exclusions.sub("", agent)
            return texts[kind]

        return self.index.match(agent.lower(), text)


@cache
def lists() -> Lists:
    """The three lists, read once; ``serve`` calls this at start, not on the first click."""
    return Lists()


def classify(user_agent: str | None, method: str = "GET") -> Visitor:
    """Person, previewer or bot (a HEAD request or no User-Agent is a bot)."""
    if method == "HEAD" or not user_agent:
        return Visitor.BOT
    return _classify(user_agent[:MAX_AGENT_CHARS])


def is_bot(user_agent: str | None, method: str = "GET") -> bool:
    """A previewer, crawler or script: counted in ``botClicks``."""
    return classify(user_agent, method) is not Visitor.PERSON


@lru_cache(maxsize=4096)  # performance: clicks repeat agents; a new one costs ~14 µs (median)
def _classify(user_agent: str) -> Visitor:
    if _PREVIEWER.match(user_agent.lower(), lambda _text: user_agent):
        return Visitor.PREVIEWER
    return Visitor.BOT if lists().crawler(user_agent) else Visitor.PERSON
