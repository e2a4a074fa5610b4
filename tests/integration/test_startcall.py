"""The startcall dialer against local fake token and call servers (seeds/000), over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from flowhooks.integrations.startcall import StartcallDialer, StartcallDialerSettings
from flowhooks.outbound.model import Accepted, DialRequest, NotSent, Unknown
from tests.fakes import CLIENT_ID, CLIENT_SECRET, FakeCallProvider
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
    fake.token_ttl = 20  # under the 30 s margin: never reused
    d = dialer(base, session)
    await d.dial(REQUEST)
    await d.dial(REQUEST)
    assert fake.token_requests == 2


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
