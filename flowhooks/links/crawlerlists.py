"""The three well-kept crawler lists, read from the installed packages (SPEC 2.8, issue 23).

* ``crawler-user-agents`` (MIT): ``crawleruseragents/crawler-user-agents.json``, one
  case-sensitive regex per crawler;
* Matomo's bot list (LGPL-3.0-or-later data, shipped in ``device-detector``):
  ``device_detector/regexes/upstream/bots.yml``, matched as Matomo does, case-insensitive
  after a word boundary;
* CrawlerDetect (MIT, the ``crawlerdetect`` package): its crawler patterns, matched
  case-insensitive on the agent with CrawlerDetect's own exclusions removed.

Nothing is copied into this tree: ``make lock`` moves to the lists' newest releases.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import yaml_rs

from flowhooks.links.prefilter import Rule

CUA = "crawler-user-agents"
MATOMO = "matomo"
CRAWLERDETECT = "crawlerdetect"
SOURCES = (CUA, MATOMO, CRAWLERDETECT)

# Matomo's AbstractParser: a regex matches at the start or after a non-word character
_MATOMO_BOUNDARY = r"(?:^|[^A-Z0-9_-]|[^A-Z0-9-]_|sprd-|MZ-)(?:{})"  # a str.format template


def crawler_user_agents() -> list[Rule]:
    text = (resources.files("crawleruseragents") / "crawler-user-agents.json").read_text("utf-8")
    return [Rule(CUA, entry["pattern"]) for entry in json.loads(text)]


def matomo() -> list[Rule]:
    bots = resources.files("device_detector") / "regexes" / "upstream" / "bots.yml"
    entries = yaml_rs.loads(bots.read_text("utf-8"))
    return [
        Rule(MATOMO, entry["regex"], re.IGNORECASE, wrap=_MATOMO_BOUNDARY)
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("regex"), str)
    ]


def crawlerdetect() -> list[Rule]:
    from crawlerdetect.providers.crawlers import data

    return [Rule(CRAWLERDETECT, p, re.IGNORECASE, text=CRAWLERDETECT) for p in data]


def crawlerdetect_exclusions() -> re.Pattern[str]:
    """What CrawlerDetect removes from an agent before matching (browser tokens)."""
    from crawlerdetect.providers.exclusions import data

    return re.compile("|".join(data), re.IGNORECASE)


def all_rules() -> list[Rule]:
    return [*crawler_user_agents(), *matomo(), *crawlerdetect()]
