"""The pure parts of links and languages: codes, URL rules, bot URLs, user agents,
language names, the secret-key rule (SPEC 2.8, 2.9)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest

from flowhooks import languages
from flowhooks.links.codes import ALPHABET, is_well_formed, new_code
from flowhooks.links.urls import bot_url, check_long_url
from flowhooks.links.useragents import is_bot
from flowhooks.redact import is_secret


def test_codes_are_base62_of_the_length_asked_and_spread_over_the_alphabet() -> None:
    codes = [new_code(8) for _ in range(2000)]
    assert all(len(c) == 8 and is_well_formed(c) for c in codes)
    assert len(set(codes)) == len(codes)
    seen = Counter("".join(codes))
    assert set(seen) == set(ALPHABET)  # 16,000 draws reach all 62 characters
    assert len(ALPHABET) == 62


@pytest.mark.parametrize(
    ("code", "ok"),
    [("abcDEF1", True), ("a" * 16, True), ("abcdef", False), ("a" * 17, False),
     ("abc-efgh", False), ("abcdéfgh", False), ("abcdefg ", False), ("", False)],
)  # fmt: skip
def test_well_formed_codes(code: str, ok: bool) -> None:
    assert is_well_formed(code) is ok


@pytest.mark.parametrize(
    "url",
    ["https://a.example", "http://a.example:8080/p?q=1#f", "HTTPS://A.EXAMPLE/x",
     "https://[2001:db8::1]/x", "https://xn--80ak6aa92e.com/"],
)  # fmt: skip
def test_long_urls_accepted(url: str) -> None:
    assert check_long_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    ["", "a.example", "ftp://a.example", "javascript:alert(1)", "data:text/html,x",
     "https://", "http:///path", "https://u:p@a.example", "https://a.example/\x00",
     "https://a.example/a b", "https://a.example:70000/", "https://a.example/" + "x" * 2031],
)  # fmt: skip
def test_long_urls_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_long_url(url)


def test_bot_url_keeps_its_query_encodes_everything_and_drops_secrets() -> None:
    url = bot_url(
        "https://bot.example/chat?lang=en#top",
        [("name", "A & B"), ("LANG", "hi"), ("apiKey", "k"), ("sessionToken", "t"),
         ("q", "1+1=2"), ("cli", "spoofed")],
        "+91 98", "123", "u-1",
    )  # fmt: skip
    parts = urlsplit(url)
    assert parts.fragment == "top"
    assert parse_qsl(parts.query) == [
        ("lang", "en"), ("name", "A & B"), ("q", "1+1=2"),
        ("cli", "+91 98"), ("botid", "123"), ("uid", "u-1"),
    ]  # fmt: skip
    assert "A%20%26%20B" in url and "%2B91%2098" in url


@pytest.mark.parametrize(
    ("ua", "method", "bot"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
         " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "GET", False),
        ("Mozilla/5.0 (Linux; Android 13; CUBOT X30) AppleWebKit/537.36 Chrome/119", "GET", False),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36",
         "HEAD", True),
        ("WhatsApp/2.23.20.0 A", "GET", True),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "GET", True),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "GET", True),
        ("Twitterbot/1.0", "GET", True),
        ("TelegramBot (like TwitterBot)", "GET", True),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "GET", True),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "GET", True),
        ("curl/8.4.0", "GET", True),
        ("python-requests/2.31.0", "GET", True),
        ("Python/3.11 aiohttp/3.9.1", "GET", True),
        ("SomeNewBot/0.1", "GET", True),
        ("", "GET", True),
        (None, "GET", True),
    ],
)  # fmt: skip
def test_user_agent_classes(ua: str | None, method: str, bot: bool) -> None:
    assert is_bot(ua, method) is bot


@pytest.mark.parametrize(
    ("text", "code"),
    [("Hindi", "hi"), ("hindi", "hi"), ("HI", "hi"), ("hi-IN", "hi"), ("hi_IN", "hi"),
     ("Hindi (India)", "hi"), ("zh-CN", "zh-CN"), ("Chinese (Simplified)", "zh-CN"),
     ("Chinese", "zh-CN"), ("zh-TW", "zh-TW"), ("zh-Hant", "zh-TW"),
     ("Chinese (Traditional)", "zh-TW"), ("English", "en"), ("en-US", "en"),
     ("iw", "he"), ("Bengali", "bn"), ("Bangla", "bn"), ("Oriya", "or"), ("Farsi", "fa")],
)  # fmt: skip
def test_language_names_and_codes_resolve(text: str, code: str) -> None:
    assert languages.google_code(languages.resolve(text)) == code


@pytest.mark.parametrize("text", ["", "Elvish", "xx", "qq-ZZ", "x" * 65, "123", "en;drop"])
def test_unknown_languages(text: str) -> None:
    with pytest.raises(languages.UnknownLanguage):
        languages.resolve(text)


def test_detect_and_english_names() -> None:
    assert all(languages.is_detect(t) for t in (None, "", " auto ", "AUTO", "detect"))
    assert not languages.is_detect("en")
    assert languages.english_name("hi") == "Hindi"
    assert languages.english_name("zh-CN") == "Chinese"
    assert languages.english_name("not a code!") == "not a code!"


@pytest.mark.parametrize(
    ("name", "secret"),
    [("token", True), ("securityID", True), ("apiKey", True), ("custToken", True),
     ("password", True), ("PASSWORD", True), ("clientSecret", True), ("authTokenX", True),
     ("$user.key.apiKey", True), ("customerName", False), ("cli", False), ("key", False),
     ("passcode", False)],
)  # fmt: skip
def test_secret_flow_keys(name: str, secret: bool) -> None:
    assert is_secret(name) is secret
