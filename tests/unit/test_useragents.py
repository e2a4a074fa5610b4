"""Who opened a link (SPEC 2.8, issue 23), tried on user agents nobody here wrote:
the crawler lists' own test agents, documented chat previewers, and browsers and
in-app browsers from user-agent parsers' fixtures (tests/fixtures/useragents/README.md)."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

from flowhooks.links import crawlerlists
from flowhooks.links.prefilter import KeywordIndex, Rule, compile_any, keywords
from flowhooks.links.useragents import PEOPLE, Visitor, classify, is_bot, lists

FIXTURES = Path(__file__).parent.parent / "fixtures" / "useragents"
BOT_SOURCES = ("crawler-user-agents", "matomo-bots", "crawlerdetect")
PEOPLE_SOURCES = ("matomo-devices", "uap-core")


def _rows(name: str) -> list[list[str]]:
    lines = (FIXTURES / name).read_text("utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


AGENTS: dict[str, list[str]] = defaultdict(list)
for _expected, _source, _agent in _rows("agents.tsv"):
    AGENTS[_source].append(_agent)
PREVIEWER_AGENTS = [row[0] for row in _rows("previewers.tsv")]


def test_the_fixture_holds_over_three_thousand_labelled_agents() -> None:
    total = sum(len(agents) for agents in AGENTS.values()) + len(PREVIEWER_AGENTS)
    assert total >= 3000
    assert set(AGENTS) == {*BOT_SOURCES, *PEOPLE_SOURCES}


@pytest.mark.parametrize("source", BOT_SOURCES)
def test_bot_recall_on_each_lists_own_test_agents(source: str) -> None:
    agents = AGENTS[source]
    missed = [a for a in agents if classify(a) is Visitor.PERSON]
    assert len(missed) / len(agents) <= 0.05, missed[:20]


def test_bot_recall_on_the_installed_crawler_user_agents_instances() -> None:
    """The newest test agents `make lock` brings, not only the committed sample."""
    data = json.loads(
        (resources.files("crawleruseragents") / "crawler-user-agents.json").read_text("utf-8")
    )
    agents = {a for entry in data for a in entry.get("instances", [])}
    missed = [a for a in agents if not is_bot(a)]
    assert len(agents) > 1000
    assert len(missed) / len(agents) <= 0.05, sorted(missed)[:20]


@pytest.mark.parametrize("agent", PREVIEWER_AGENTS)
def test_every_documented_chat_previewer_is_a_previewer(agent: str) -> None:
    assert classify(agent) is Visitor.PREVIEWER


@pytest.mark.parametrize("source", PEOPLE_SOURCES)
def test_people_on_each_human_source(source: str) -> None:
    agents = AGENTS[source]
    wrong = [a for a in agents if classify(a) is not Visitor.PERSON]
    assert len(wrong) / len(agents) <= 0.005, wrong


@pytest.mark.parametrize(
    "agent",
    [
        "Mediapartners-Google",
        "GoogleOther",
        "Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
        "bitlybot/3.0 (+http://bit.ly/)",
        "Apache-HttpClient/4.5.13 (Java/17.0.2)",
        "libwww-perl/6.67",
        "Mozilla/4.5 (compatible; HTTrack 3.0x; Windows 98)",
        "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)",
        "phpcrawl",
        "Baidu-YunGuanCe-Bot(ce.baidu.com)",
        "curl/8.4.0",
        "python-requests/2.31.0",
        "Python/3.11 aiohttp/3.9.1",
        "SomeNewBot/0.1",
    ],
)
def test_the_agents_the_issue_found_counted_as_people_are_bots(agent: str) -> None:
    assert classify(agent) is Visitor.BOT


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Linux; U; Android 1.6; fr-fr; LG-GT540 ; Build/Donut) AppleWebKit/528.5+"
        " (KHTML, like Gecko) Version/3.1.2 Mobile Safari/525.20.1 Java/Jbed/7.0"
        " Profile/MIDP-2.1 Configuration/CLDC-1.1 MMS/LG-Android-MMS-V1.0/1.2",
        "Mozilla/5.0 (Linux; Android 4.2.2; Panasonic T31 Build/JDQ39) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/33.0.1750.170 Mobile Safari/537.36",
        "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/4.0; QQDownload 691; SLCC2;"
        " .NET CLR 2.0.50727; MALC)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/21A350 [FBAN/FBIOS;FBDV/iPhone15,4;FBMD/iPhone;FBSN/iOS;"
        "FBSV/17.0.2;FBSS/3;FBID/phone;FBLC/it_IT;FBOP/5]",
        "Mozilla/5.0 (Linux; Android 16; SM-F966N; BP2A.250605.031.A3; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/145.0.7632.120 Mobile Safari/537.36"
        " Viber/27.4.0.0",
        "Mozilla/5.0 (Linux; Android 10; CUBOT J9) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/88.0.4324.152 Mobile Safari/537.36",
    ],
)
def test_real_browsers_the_lists_mistake_are_people(agent: str) -> None:
    assert classify(agent) is Visitor.PERSON


def test_a_previewer_is_never_a_person_whatever_else_its_agent_says() -> None:
    agent = "facebookexternalhit/1.1 Java/Jbed/7.0 Viber/27.4.0.0 QQDownload 691"
    assert classify(agent) is Visitor.PREVIEWER


def test_a_crawler_name_beside_an_excluded_fragment_still_counts() -> None:
    """PEOPLE fragments are removed, not trusted: the rest of the agent is still read."""
    assert classify("Mozilla/5.0 (QQDownload 691) Googlebot/2.1") is Visitor.BOT


def test_head_and_missing_agents_are_bots() -> None:
    assert classify(None) is Visitor.BOT
    assert classify("") is Visitor.BOT
    assert classify("Mozilla/5.0 (Windows NT 10.0) Chrome/120 Safari/537.36", "HEAD") is Visitor.BOT


def test_every_people_fragment_saves_some_real_browser_from_the_lists() -> None:
    mistaken = [
        a for s in PEOPLE_SOURCES for a in AGENTS[s] if lists().crawler(a, exclude_people=False)
    ]
    unused = [f for f in PEOPLE if not any(re.search(f, a, re.IGNORECASE) for a in mistaken)]
    assert unused == []


def test_each_list_is_read_from_its_installed_package() -> None:
    found = {rule.source for rule in crawlerlists.all_rules()}
    assert found == set(crawlerlists.SOURCES)
    assert len(crawlerlists.crawler_user_agents()) > 1000
    assert len(crawlerlists.matomo()) > 500
    assert len(crawlerlists.crawlerdetect()) > 1000


# the keyword index (flowhooks/links/prefilter.py)


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        ("Googlebot\\/", 0, {"googlebot/"}),
        ("Datadog Agent|Datadog/?Synthetics", 0, {"datadog"}),  # re factors the prefix out
        ("abc/?def", 0, {"abc"}),  # either would do; one is enough
        ("ab(?:cd|ef)gh", 0, {"abcdgh", "abefgh"}),
        ("[Bb]ot-[Xx]", 0, {"bot-x"}),
        ("(?<!cu|power[ _])bot(?![ _]TAB)", re.I, {"bot"}),  # variable-width lookbehind
        ("^(?:chrome|firefox)$", 0, {"chrome", "firefox"}),
        ("(?:foo)?barbaz", 0, {"barbaz"}),
        ("(?:abc|x)yz", 0, {"abcyz", "xyz"}),  # one of them is in every match
        ("a.b", 0, None),  # nothing of three letters is needed
        ("[a-z]+bo", 0, None),
    ],
)
def test_keywords_are_literals_every_match_contains(
    pattern: str, flags: int, expected: set[str] | None
) -> None:
    assert keywords(pattern, flags) == expected


def test_a_pattern_without_keywords_is_tried_on_every_agent() -> None:
    index = KeywordIndex([Rule("x", "a.b"), Rule("y", "needle")])
    assert index.unindexed == 1
    assert index.match("xxaybxx", lambda _: "xxaybxx") == "x"
    assert index.match("the needle", lambda _: "the needle") == "y"
    assert index.match("nothing", lambda _: "nothing") is None


def _plain_lists() -> list[tuple[str, re.Pattern[str] | object]]:
    """Each list as one alternation of its patterns as published (slow, no rewriting)."""
    cua = [rule.pattern for rule in crawlerlists.crawler_user_agents()]
    matomo = [crawlerlists.MATOMO_BOUNDARY.format(r) for r in crawlerlists.matomo_regexes()]
    detect = [rule.pattern for rule in crawlerlists.crawlerdetect()]
    return [
        ("agent", compile_any(cua, 0)),
        ("agent", compile_any(matomo, re.IGNORECASE)),
        ("crawlerdetect", compile_any(detect, re.IGNORECASE)),
    ]


def test_the_index_finds_exactly_what_the_plain_alternation_finds() -> None:
    """The prefilter and its rewrites drop no match and add none."""
    plain = _plain_lists()
    cd_exclusions = crawlerlists.crawlerdetect_exclusions()
    everything = [a for agents in AGENTS.values() for a in agents] + PREVIEWER_AGENTS
    agents = random.Random(23).sample(everything, 400)
    agents += ["Mozilla/5.0 (Linux; Android 13; XBot Junior)", "SuperBot/1.0", "xbotx", "a-bot"]
    for agent in agents:
        texts = {"agent": agent, "crawlerdetect": cd_exclusions.sub("", agent)}
        expected = any(pattern.search(texts[text]) for text, pattern in plain)
        assert (lists().crawler(agent, exclude_people=False) is not None) is expected, agent


def test_a_crafted_agent_costs_no_quadratic_search() -> None:
    """Repeated crawler words once made two list patterns scan 60 ms an agent."""
    for word in ("spider", "fetch", "bot", "crawl-", "a"):
        agent = (word * 600)[:512]
        assert lists().crawler(agent, exclude_people=False) in (*crawlerlists.SOURCES, None)
