"""The startcall dialer against local fake token and call servers (seeds/000), over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from flowhooks.integrations.startcall import (
    MAX_ANSWER_BYTES,
    StartcallDialer,
    StartcallDialerSettings,
)
from flowhooks.outbound.model import Accepted, DialRequest, NotSent, Unknown
from tests.conftest import ClientFactory
from tests.fakes import CLIENT_ID, CLIENT_SECRET, FakeCallProvider, Trickler, wait_for
from tests.outbound_conf import create, outbound_conf, post, startcall_dialer, view
from tests.pg import free_port

REQUEST = DialRequest("call-1", "+33123456789", "ab12cd34", "acme", "a@b.example", "", 1)


@pytest.fixture
async def provider(aiohttp_server: Any) -> AsyncIterator[tuple[FakeCallProvider, str]]:
    fake = FakeCallProvider()
    server = await aiohttp_server(fake.app())
    yield fake, str(server.make_url(""))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def dialer(base: str, session: aiohttp.ClientSession, **kw: Any) -> StartcallDialer:
    conf = StartcallDialerSettings(
        token_url=f"{base}/token",
        call_url=f"{base}/api/startcall",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        originate="scenario-x",
        **kw,
    )
    return StartcallDialer(conf, session)


async def test_dial_sends_the_seed_payload_and_reuses_the_token(
    provider: Any, session: Any
) -> None:
    fake, base = provider
    d = dialer(base, session)
    first = await d.dial(REQUEST)
    second = await d.dial(REQUEST)
    assert first == Accepted("prov-1") and second == Accepted("prov-2")
    assert fake.calls[0] == {
        "originate": "scenario-x",
        "destination": "+33123456789",
        "email": "a@b.example",
        "callId": "prov-1",
    }
    assert fake.token_requests == 1  # reused


async def test_a_token_near_expiry_is_refreshed(provider: Any, session: Any) -> None:
    fake, base = provider
    fake.token_ttl = 20  # under the 30 s margin: refreshed, in the background while valid
    d = dialer(base, session)
    await d.dial(REQUEST)
    await d.dial(REQUEST)
    await wait_for(lambda: fake.token_requests == 2)
    assert await d.token() == "tok-2"
    await d.close()


async def test_an_expired_token_gets_401_then_one_refresh(provider: Any, session: Any) -> None:
    fake, base = provider
    d = dialer(base, session)
    await d.dial(REQUEST)
    fake.expire_all_tokens()  # the provider forgot it early
    assert isinstance(await d.dial(REQUEST), Accepted)
    assert fake.token_requests == 2 and len(fake.calls) == 2


async def test_401_twice_is_not_sent(provider: Any, session: Any) -> None:
    fake, base = provider
    fake.plan = [401, 401]
    result = await dialer(base, session).dial(REQUEST)
    assert isinstance(result, NotSent) and "401" in result.error
    assert fake.token_requests == 2 and fake.calls == []


async def test_5xx_is_not_sent(provider: Any, session: Any) -> None:
    fake, base = provider
    fake.plan = [500]
    result = await dialer(base, session).dial(REQUEST)
    assert isinstance(result, NotSent) and "500" in result.error


async def test_a_timeout_after_sending_is_unknown(provider: Any, session: Any) -> None:
    fake, base = provider
    fake.plan = ["hang"]
    fake.hang_seconds = 5
    result = await dialer(base, session, timeout_seconds=0.3).dial(REQUEST)
    assert isinstance(result, Unknown)


async def test_an_unreachable_api_is_not_sent(session: Any) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    result = await dialer(base, session).dial(REQUEST)
    assert isinstance(result, NotSent) and "no token" in result.error


async def test_wrong_client_secret_is_not_sent(provider: Any, session: Any) -> None:
    fake, base = provider
    d = dialer(base, session)
    d.conf = d.conf.model_copy(update={"client_secret": SecretStr("wrong")})
    result = await d.dial(REQUEST)
    assert isinstance(result, NotSent) and fake.calls == []


# -- total deadlines (issue 22, item 6) ------------------------------------------------

PADDING = "x" * 150  # ~200 bytes a byte every 0.2 s: a whole answer takes 40 s
TRICKLE_TOKEN = {"access_token": "tok-slow", "expires_in": 300, "scope": PADDING}
TIMEOUT = 1.0  # each request's deadline; a byte every 0.2 s never trips a read timeout
WITHIN = 15  # far above the deadlines, far below a trickle's 40 s: no timing race


@pytest.fixture
async def trickler() -> AsyncIterator[Trickler]:
    slow = Trickler(TRICKLE_TOKEN, seconds=0.2)
    yield slow
    await slow.close()


async def test_a_call_api_that_trickles_is_unknown_at_its_deadline(
    provider: Any, session: Any, trickler: Trickler
) -> None:
    """One byte a second never trips a read timeout; the total deadline ends it, and as
    the request went out, the outcome is unknown (an attempt is used)."""
    _, base = provider
    d = dialer(base, session, timeout_seconds=TIMEOUT)
    d.conf = d.conf.model_copy(update={"call_url": await trickler.start() + "/api/startcall"})
    result = await asyncio.wait_for(d.dial(REQUEST), WITHIN)
    assert isinstance(result, Unknown) and "did not answer" in result.error
    assert len(trickler.requests) == 1 and b'"destination"' in trickler.requests[0]


async def test_a_trickling_token_endpoint_fails_every_waiting_call_at_one_deadline(
    provider: Any, session: Any, trickler: Trickler
) -> None:
    """Five calls wait for one token fetch; when it runs out of time, all five are not
    sent (no attempt: nothing reached the call API), none waits for another fetch."""
    fake, base = provider
    d = dialer(base, session, timeout_seconds=TIMEOUT)
    d.conf = d.conf.model_copy(update={"token_url": await trickler.start() + "/token"})
    results = await asyncio.wait_for(asyncio.gather(*(d.dial(REQUEST) for _ in range(5))), WITHIN)
    assert all(isinstance(r, NotSent) and "no token" in r.error for r in results), results
    assert len(trickler.requests) == 1 and fake.calls == []  # one fetch for all five
    await d.close()


async def test_a_slow_refresh_holds_no_call_while_the_token_still_works(
    provider: Any, session: Any, trickler: Trickler
) -> None:
    fake, base = provider
    fake.token_ttl = 20  # inside the 30 s margin at once: each dial wants a fresh one
    d = dialer(base, session, timeout_seconds=TIMEOUT)
    assert isinstance(await d.dial(REQUEST), Accepted)
    d.conf = d.conf.model_copy(update={"token_url": await trickler.start() + "/token"})
    second = await asyncio.wait_for(d.dial(REQUEST), WITHIN)  # refreshed meanwhile
    assert isinstance(second, Accepted) and len(fake.calls) == 2
    await wait_for(lambda: len(trickler.requests) == 1)
    await d.close()


async def test_a_dial_that_gets_no_connection_in_time_is_not_sent(provider: Any) -> None:
    """Every connection busy: the request never left, so the call is re-sent later
    without using an attempt."""
    fake, base = provider
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as narrow:
        d = dialer(base, narrow, timeout_seconds=TIMEOUT)
        await d.token()
        fake.plan = ["hang"]
        busy = asyncio.create_task(narrow.post(f"{base}/api/startcall", json={}))
        await wait_for(lambda: fake.plan == [])  # the one connection is held
        result = await asyncio.wait_for(d.dial(REQUEST), WITHIN)
        busy.cancel()
        await asyncio.gather(busy, return_exceptions=True)
    assert isinstance(result, NotSent) and "did not reach" in result.error
    assert fake.calls == []


async def test_a_200_whose_body_trickles_is_accepted(provider: Any, session: Any) -> None:
    """The provider said yes: the call is placed even if its id never arrives whole
    (never dialled again)."""
    fake, base = provider
    fake.plan = ["trickle"]
    fake.trickle_seconds = 0.2
    result = await asyncio.wait_for(
        dialer(base, session, timeout_seconds=TIMEOUT).dial(REQUEST), WITHIN
    )
    assert result == Accepted(None) and len(fake.calls) == 1


async def test_a_dial_returns_within_its_share_of_the_lease(
    provider: Any, session: Any, trickler: Trickler
) -> None:
    """``within_seconds`` bounds the whole dial below the per-request deadline: a token
    still coming then is not sent."""
    fake, base = provider
    d = dialer(base, session, timeout_seconds=30)
    d.conf = d.conf.model_copy(update={"token_url": await trickler.start() + "/token"})
    result = await asyncio.wait_for(d.dial(replace(REQUEST, within_seconds=0.5)), WITHIN)
    assert isinstance(result, NotSent) and fake.calls == []
    await d.close()


async def test_a_call_whose_token_never_came_uses_no_attempt(
    make_client: ClientFactory, db_url: str, provider: Any, trickler: Trickler
) -> None:
    """Through the dispatcher: the token trickles, the call is re-queued with no attempt
    used (before, the dial outlived the lease's share and counted as a failed attempt)."""
    fake, base = provider
    slow = await trickler.start()
    dialer_conf = startcall_dialer(base).replace(f"{base}/token", f"{slow}/token")
    dialer_conf = dialer_conf.replace("lease_seconds = 30", "lease_seconds = 5")
    dialer_conf = dialer_conf.replace("timeout_seconds = 2", f"timeout_seconds = {TIMEOUT}")
    client = await make_client(outbound_conf(db_url, workers=True, dialer=dialer_conf))
    _, keys, _ = await post(client, create("9979746666"))

    async def requeued() -> bool:
        call = (await view(client, keys["$flow.key.obdReqID"]))["calls"][0]
        return call["state"] == "queued" and (call["lastError"] or "").startswith("no token")

    await wait_for(requeued, timeout=WITHIN)
    call = (await view(client, keys["$flow.key.obdReqID"]))["calls"][0]
    assert call["attempts"] == [] and fake.calls == []


# -- answers read up to a cap ----------------------------------------------------------

HUGE = "x" * 200_000  # past MAX_ANSWER_BYTES: a provider's answer is a few hundred bytes


@pytest.fixture
async def oversized(aiohttp_server: Any) -> str:
    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "tok", "expires_in": 300, "pad": HUGE})

    async def startcall(_: web.Request) -> web.Response:
        return web.json_response({"callId": "prov-9", "pad": HUGE})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/api/startcall", startcall)
    return str((await aiohttp_server(app)).make_url(""))


async def test_an_oversized_token_answer_is_no_token(oversized: str, session: Any) -> None:
    result = await dialer(oversized, session).dial(REQUEST)
    assert isinstance(result, NotSent) and "no token" in result.error
    assert f"more than {MAX_ANSWER_BYTES:,} bytes" in result.error


async def test_an_oversized_call_api_answer_is_read_no_further_than_the_cap(
    provider: Any, oversized: str, session: Any
) -> None:
    """The status has said yes: the call is placed, its id not read from a body past
    the cap (never dialled again)."""
    _, base = provider
    d = dialer(base, session)
    d.conf = d.conf.model_copy(update={"call_url": f"{oversized}/api/startcall"})
    assert await d.dial(REQUEST) == Accepted(None)
