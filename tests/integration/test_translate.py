"""translateText end to end over loopback to a fake Cloud Translation v2 (SPEC 2.9)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from flowhooks.integrations.translate import Translations
from flowhooks.logs import JsonFormatter
from flowhooks.settings import Settings
from flowhooks.web import keys as appkeys
from tests.conftest import ClientFactory, answer_keys, envelope, settings_from
from tests.fakes import GOOGLE_KEY, GOOGLE_PATH, FakeGoogleTranslate


def conf(
    base: str, *, api_key: str | None = None, timeout: float = 3, cache: int = 100
) -> Settings:
    text = f'[translate]\nendpoint = "{base}{GOOGLE_PATH}"\ntimeout_seconds = {timeout}\n'
    text += f"cache_size = {cache}\n"
    if api_key is not None:
        text += f'api_key = "{api_key}"\n'
    return settings_from(text)


async def start(aiohttp_server: Any, fake: FakeGoogleTranslate) -> str:
    server = await aiohttp_server(fake.app())
    return str(server.make_url("")).rstrip("/")


async def translate(client: Any, **keys: Any) -> tuple[str, dict[str, str]]:
    resp = await client.post("/webhook", json=envelope("translateText", **keys))
    body = await resp.json()
    assert resp.status == 200, body
    return body["status"], answer_keys(body)


@pytest.fixture
def fake() -> FakeGoogleTranslate:
    return FakeGoogleTranslate()


async def test_translates_with_the_request_key_in_a_header_and_format_text(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake)))
    status, keys = await translate(
        client, inputText="My name is John", sourceLang="English", targetLang="Hindi",
        apiKey=GOOGLE_KEY,
    )  # fmt: skip
    assert status == "SUCCESS"
    assert keys["$flow.key.translatedText"] == "मेरा नाम जॉन है"
    assert keys["$flow.key.detectedSourceLanguage"] == ""  # the source was given
    assert keys["$flow.key.targetLanguageCode"] == "hi"
    sent = fake.requests[0]
    assert sent["body"] == {
        "q": ["My name is John"],
        "target": "hi",
        "source": "en",
        "format": "text",
    }
    assert sent["headers"]["X-Goog-Api-Key"] == GOOGLE_KEY and "key" not in sent["query"]


async def test_detects_the_source_and_names_it_in_english(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    for source in (None, "auto", "AUTO"):
        keys_ = {"sourceLang": source} if source else {}
        status, keys = await translate(
            client, inputText="मेरा नाम जॉन है", targetLang="english", **keys_
        )
        assert status == "SUCCESS"
        assert keys["$flow.key.translatedText"] == "My name is John"
        assert keys["$flow.key.detectedSourceLanguage"] == "Hindi"
        assert keys["$flow.key.targetLanguageCode"] == "en"
    assert "source" not in fake.requests[0]["body"]


async def test_text_format_keeps_apostrophes_and_markup_as_text(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    _, keys = await translate(
        client, inputText="It's a <b>test</b> & more", sourceLang="en", targetLang="French"
    )
    assert keys["$flow.key.translatedText"] == "C'est un <b>test</b> & plus"
    assert "&#39;" not in keys["$flow.key.translatedText"]


async def test_the_fake_answers_entities_unless_format_text_and_takes_the_key_in_the_query(
    aiohttp_client: Any, fake: FakeGoogleTranslate
) -> None:
    """The fake behaves like Google: this is what format=text protects callers from."""
    google = await aiohttp_client(fake.app())
    doc = {"q": ["It's a <b>test</b> & more"], "target": "fr", "source": "en"}
    resp = await google.post(GOOGLE_PATH, params={"key": GOOGLE_KEY}, json=doc)
    said = (await resp.json())["data"]["translations"][0]["translatedText"]
    assert said == "C&#39;est un &lt;b&gt;test&lt;/b&gt; &amp; plus"
    resp = await google.post(GOOGLE_PATH, json=doc)
    error = (await resp.json())["error"]
    assert resp.status == 403 and error["code"] == 403 and error["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("Hindi", "hi"),
        ("hindi", "hi"),
        ("hi", "hi"),
        ("hi-IN", "hi"),
        ("Hindi (India)", "hi"),
        ("zh-CN", "zh-CN"),
        ("Chinese (Simplified)", "zh-CN"),
        ("Chinese (Traditional)", "zh-TW"),
        ("zh-TW", "zh-TW"),
        ("Marathi", "mr"),
        ("TAMIL", "ta"),
    ],
)
async def test_language_names_and_codes(
    make_client: ClientFactory,
    aiohttp_server: Any,
    fake: FakeGoogleTranslate,
    target: str,
    code: str,
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    status, keys = await translate(client, inputText="hello", sourceLang="en", targetLang=target)
    assert status == "SUCCESS", keys
    assert keys["$flow.key.targetLanguageCode"] == code
    assert fake.requests[-1]["body"]["target"] == code


async def test_an_unknown_language_fails_before_any_backend_call(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    for keys_ in ({"targetLang": "Elvish"}, {"targetLang": "xx-YY"},
                  {"targetLang": "hi", "sourceLang": "Bogus tongue"}):  # fmt: skip
        status, keys = await translate(client, inputText="hello", **keys_)
        assert status == "FAILED"
        assert keys["$flow.key.errorCode"] == "UNKNOWN_LANGUAGE"
    assert fake.requests == []


async def test_empty_or_too_long_text_is_422(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    for text in ("", "   ", "x" * 5001):
        resp = await client.post(
            "/webhook", json=envelope("translateText", inputText=text, targetLang="hi")
        )
        body = await resp.json()
        assert resp.status == 422
        assert body["error"]["details"][0]["key"] == "inputText"
    assert fake.requests == []


async def test_no_key_anywhere_is_no_api_key_and_the_config_key_is_the_default(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    base = await start(aiohttp_server, fake)
    client = await make_client(conf(base))
    status, keys = await translate(client, inputText="hello", targetLang="hi")
    assert (status, keys["$flow.key.errorCode"]) == ("FAILED", "NO_API_KEY")
    assert fake.requests == []
    configured = await make_client(conf(base, api_key=GOOGLE_KEY))
    status, _ = await translate(configured, inputText="hello", targetLang="hi")
    assert status == "SUCCESS"


async def test_the_request_key_wins_over_the_config_key(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key="AIzaWRONG"))
    status, _ = await translate(client, inputText="hello", targetLang="hi", apiKey=GOOGLE_KEY)
    assert status == "SUCCESS"
    assert fake.requests[0]["headers"]["X-Goog-Api-Key"] == GOOGLE_KEY


async def test_a_cached_answer_needs_no_key_and_no_call(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake)))
    first = await translate(client, inputText="hello", sourceLang="en", targetLang="hi",
                            apiKey=GOOGLE_KEY)  # fmt: skip
    again = await translate(client, inputText="hello", sourceLang="English", targetLang="hindi")
    assert first == again and first[0] == "SUCCESS"
    assert len(fake.requests) == 1
    other = await translate(client, inputText="hello", sourceLang="en", targetLang="ta")
    assert other[1]["$flow.key.errorCode"] == "NO_API_KEY"  # not cached: needs a key


async def test_the_cache_is_bounded_lru(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY, cache=2))
    for text in ("a", "b", "a", "c", "a", "b"):  # b is evicted by c; a stays (used last)
        await translate(client, inputText=text, sourceLang="en", targetLang="hi")
    assert [r["body"]["q"][0] for r in fake.requests] == ["a", "b", "c", "b"]


async def test_concurrent_identical_requests_make_one_backend_call(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    fake.hold = asyncio.Event()
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    calls = [
        translate(client, inputText="same words", sourceLang="en", targetLang="hi")
        for _ in range(8)
    ]
    pending = asyncio.gather(*calls)
    translator = client.app[appkeys.TRANSLATOR]
    deadline = time.monotonic() + 5
    while not fake.requests and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # let the other seven arrive at the single flight
    fake.hold.set()
    answers = await pending
    assert {a[1]["$flow.key.translatedText"] for a in answers} == {"[hi] same words"}
    assert len(fake.requests) == 1
    assert isinstance(translator, Translations) and translator.backend_calls == 1


async def test_backend_errors_are_translation_failed_without_the_key(
    make_client: ClientFactory,
    aiohttp_server: Any,
    fake: FakeGoogleTranslate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    fake.plan = [500]
    with caplog.at_level(logging.DEBUG):
        status, keys = await translate(client, inputText="one", targetLang="hi")
        assert (status, keys["$flow.key.errorCode"]) == ("FAILED", "TRANSLATION_FAILED")
        assert "500" in keys["$flow.key.errorMessage"]
        assert "Internal error encountered." in keys["$flow.key.errorMessage"]
        status, keys = await translate(
            client, inputText="two", targetLang="hi", apiKey="AIzaBADKEY-secret"
        )
        assert keys["$flow.key.errorCode"] == "TRANSLATION_FAILED"
        assert "403" in keys["$flow.key.errorMessage"]
        fake.plan = [500]  # an error is not cached: the next request tries again
        await translate(client, inputText="three", targetLang="hi")
        status, keys = await translate(client, inputText="three", targetLang="hi")
        assert status == "SUCCESS"
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (GOOGLE_KEY, "AIzaBADKEY-secret"):
        assert secret not in logged
        assert secret not in json.dumps(keys)


async def test_a_slow_backend_fails_within_the_timeout(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(
        conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY, timeout=0.3)
    )
    fake.plan = ["slow"]
    started = time.monotonic()
    status, keys = await translate(client, inputText="slowly", targetLang="hi")
    assert (status, keys["$flow.key.errorCode"]) == ("FAILED", "TRANSLATION_FAILED")
    assert "did not answer within 0.3 s" in keys["$flow.key.errorMessage"]
    assert time.monotonic() - started < 3  # the 5 s answer was not waited for


async def test_the_translator_uses_the_apps_one_session(
    make_client: ClientFactory, aiohttp_server: Any, fake: FakeGoogleTranslate
) -> None:
    client = await make_client(conf(await start(aiohttp_server, fake), api_key=GOOGLE_KEY))
    translator = client.app[appkeys.TRANSLATOR]
    assert isinstance(translator, Translations)
    assert getattr(translator.backend, "http", None) is client.app[appkeys.HTTP]
