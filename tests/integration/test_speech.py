"""speechprocessing through the app: the rules backend, expect, intent sets, and the
http backend against a local fake Rasa /model/parse over loopback (SPEC 2.10)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.conftest import NEUTRAL, ClientFactory, answer_keys, envelope, settings_from


async def speech(client: Any, **keys: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/webhook", json=envelope("speechprocessing", **keys))
    return resp.status, await resp.json()


async def test_every_output_from_the_rules_backend(make_client: ClientFactory) -> None:
    client = await make_client(settings_from(""), now=NEUTRAL)
    status, body = await speech(client, cli="9876543210", speechText="Um, nine eight double seven")
    out = answer_keys(body)
    assert (status, body["status"]) == (200, "SUCCESS")
    assert out["$flow.key.normalizedText"] == "9 8 double 7"
    assert out["$flow.key.digits"] == "9877"
    _, body = await speech(client, speechText="one lakh twenty thousand")
    assert answer_keys(body)["$flow.key.amount"] == "120000"
    _, body = await speech(client, speechText="yes please, next monday")
    out = answer_keys(body)
    assert (out["$flow.key.yesNo"], out["$flow.key.date"]) == ("yes", "2026-11-30")
    _, body = await speech(client, speechText="I want to talk to someone")
    out = answer_keys(body)
    assert out["$flow.key.intent"] == "agent"
    assert float(out["$flow.key.intentConfidence"]) >= 0.6
    _, body = await speech(client, speechText="what's the weather")
    out = answer_keys(body)
    assert out["$flow.key.intent"] == "none" and out["$flow.key.digits"] == ""
    assert body["status"] == "SUCCESS"  # nothing found is still a processed text


async def test_expect_limits_the_work_and_bad_keys_are_422(make_client: ClientFactory) -> None:
    client = await make_client(settings_from(""), now=NEUTRAL)
    _, body = await speech(client, speechText="yes nine eight", expect="digits")
    out = answer_keys(body)
    assert out["$flow.key.digits"] == "98" and out["$flow.key.yesNo"] == ""
    assert out["$flow.key.intent"] == ""
    for keys, named in (
        ({"speechText": "hi", "expect": "colour"}, "expect"),
        ({"speechText": "hi", "intentSet": "nope"}, "intentSet"),
        ({"speechText": ""}, "speechText"),
        ({"speechText": "x" * 2001}, "speechText"),
        ({"speechText": "today", "calendar": "nope"}, "calendar"),
    ):
        status, body = await speech(client, **keys)
        assert status == 422 and body["error"]["details"][0]["key"] == named, keys


async def test_configured_intent_sets_and_threshold(make_client: ClientFactory) -> None:
    conf = settings_from(
        """
[nlu]
threshold = 0.8
[nlu.intents.pizza]
order = ["i want to order a pizza", "get me a large pizza"]
track = ["where is my pizza"]
"""
    )
    client = await make_client(conf)
    _, body = await speech(client, speechText="a large pizza get me", intentSet="pizza")
    assert answer_keys(body)["$flow.key.intent"] == "order"  # word order does not matter
    _, body = await speech(client, speechText="where is my piza", intentSet="pizza")
    assert answer_keys(body)["$flow.key.intent"] == "track"  # one misheard word
    _, body = await speech(client, speechText="i want to order a burger", intentSet="pizza")
    out = answer_keys(body)
    assert out["$flow.key.intent"] == "none"  # "burger" is not "pizza": how close it came
    assert 0 < float(out["$flow.key.intentConfidence"]) < 0.8
    _, body = await speech(client, speechText="check my balance")  # "default" is built in
    assert answer_keys(body)["$flow.key.intent"] == "balance"


@dataclass
class FakeRasa:
    """Rasa's ``POST /model/parse``: ``{"text", "message_id"}`` in, intent and entities out."""

    plan: list[Any] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/parse", self.parse)
        return app

    async def parse(self, request: web.Request) -> web.Response:
        doc = await request.json()
        self.received.append(doc)
        action = self.plan.pop(0) if self.plan else None
        if action == 500:
            return web.json_response({"version": "3.6", "status": "failure"}, status=500)
        if action == "slow":
            await asyncio.sleep(5)
        return web.json_response(
            {
                "text": doc["text"],
                "intent": {"name": "pay_bill", "confidence": 0.91},
                "entities": [
                    {"entity": "amount", "value": "2500", "start": 0, "end": 4},
                    {"entity": "digits", "value": "4421", "start": 5, "end": 9},
                    {"entity": "city", "value": "Pune"},
                ],
                "intent_ranking": [{"name": "pay_bill", "confidence": 0.91}],
            }
        )


async def rasa_client(make_client: ClientFactory, aiohttp_server: Any, fake: FakeRasa) -> Any:
    server = await aiohttp_server(fake.app())
    url = str(server.make_url("/model/parse"))
    conf = settings_from(f'[nlu]\nbackend = "http"\nurl = "{url}"\ntimeout_seconds = 0.3\n')
    return await make_client(conf, now=NEUTRAL)


async def test_the_http_backend_speaks_rasa(
    make_client: ClientFactory, aiohttp_server: Any
) -> None:
    fake = FakeRasa()
    client = await rasa_client(make_client, aiohttp_server, fake)
    _, body = await speech(client, speechText="pay twenty five hundred, pin nine nine", cli="1")
    out = answer_keys(body)
    assert (out["$flow.key.intent"], out["$flow.key.intentConfidence"]) == ("pay_bill", "0.91")
    assert out["$flow.key.amount"] == "2500" and out["$flow.key.digits"] == "4421"  # entities
    assert out["$flow.key.yesNo"] == ""  # not an entity: computed by the rules
    assert fake.received == [
        {"text": "pay twenty five hundred, pin nine nine", "message_id": body["requestId"]}
    ]


async def test_the_http_backend_fails_on_500_and_on_a_timeout(
    make_client: ClientFactory, aiohttp_server: Any
) -> None:
    fake = FakeRasa(plan=[500, "slow"])
    client = await rasa_client(make_client, aiohttp_server, fake)
    _, body = await speech(client, speechText="hello")
    assert (body["status"], answer_keys(body)["$flow.key.errorCode"]) == ("FAILED", "NLU_FAILED")
    started = time.monotonic()
    _, body = await speech(client, speechText="hello")
    assert answer_keys(body)["$flow.key.errorCode"] == "NLU_FAILED"
    assert "within 0.3 s" in answer_keys(body)["$flow.key.errorMessage"]
    assert time.monotonic() - started < 3
    _, body = await speech(client, speechText="nine eight", expect="digits")
    assert answer_keys(body)["$flow.key.digits"] == "98"  # no intent asked: no backend call
    assert len(fake.received) == 2


ISSUE_24 = [  # what was said -> (output, value): issue 24's table, on a Tuesday
    ("5 thousand", "amount", "5000"),
    ("two point two million", "amount", "2200000"),
    ("one twenty two", "amount", "122"),
    ("forty-five (45)", "amount", "45"),
    ("$20 43", "amount", "20.43"),
    ("3 CAD 3 cents", "amount", "3.03"),
    (".77", "amount", "0.77"),
    ("two dozen", "amount", "24"),
    ("three hundred krores", "amount", "3000000000"),
    ("INR20", "amount", "20"),
    ("last sunday", "date", "2019-01-06"),
    ("Sunday, Feb 10", "date", "2019-02-10"),
    ("first tuesday of october", "date", "2019-10-01"),
    ("14th April 15", "date", "2015-04-14"),
    ("3 years from today", "date", "2022-01-08"),
    ("8-12-2019", "date", "2019-12-08"),
    ("08122019", "date", "2019-12-08"),
    ("20th of next month", "date", "2019-02-20"),
]


async def test_how_callers_say_numbers_amounts_and_days(make_client: ClientFactory) -> None:
    tuesday = datetime.fromisoformat("2019-01-08T10:00:00+05:30")
    client = await make_client(settings_from(""), now=tuesday)
    for said, output, value in ISSUE_24:
        status, body = await speech(client, speechText=said, expect=output)
        assert (status, answer_keys(body)[f"$flow.key.{output}"]) == (200, value), said


async def test_a_day_past_the_end_of_time_is_empty_not_an_error(
    make_client: ClientFactory,
) -> None:
    client = await make_client(settings_from(""), now=NEUTRAL)
    for said, day in (
        ("9999-12-31T23:00:00-10:00", ""),  # 10000-01-01 in Asia/Kolkata
        ("on 0001-01-01T00:00:00+10:00", ""),  # the year 0 in Asia/Kolkata
        ("31-12-9999", "9999-12-31"),
    ):
        status, body = await speech(client, speechText=said)
        assert (status, body["status"]) == (200, "SUCCESS"), said
        assert answer_keys(body)["$flow.key.date"] == day, said
