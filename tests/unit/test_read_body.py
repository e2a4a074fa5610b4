"""read_body: the whole body, whether it has all arrived or is still coming."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request

from flowhooks.web.edge import BodyRefused, read_body

BODY = b'{"method": "validateDateTime", "keys": []}'


class _Protocol:
    """The little of a protocol a StreamReader calls."""

    _reading_paused = False
    connected = True

    def pause_reading(self, **_: object) -> None: ...

    def resume_reading(self, **_: object) -> None: ...


def _request(payload: StreamReader, length: int | None) -> web.Request:
    headers = {"Content-Type": "application/json"}
    if length is not None:
        headers["Content-Length"] = str(length)
    return make_mocked_request("POST", "/webhook", headers=headers, payload=payload)


async def test_a_body_that_has_all_arrived_is_read_at_once() -> None:
    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    payload.feed_data(BODY[:10])
    payload.feed_data(BODY[10:])
    payload.feed_eof()
    assert await read_body(_request(payload, len(BODY)), 1024, 5.0) == BODY


async def test_a_body_still_arriving_is_waited_for() -> None:
    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    payload.feed_data(BODY[:10])
    reading = asyncio.ensure_future(read_body(_request(payload, len(BODY)), 1024, 5.0))
    await asyncio.sleep(0)  # one loop turn: the reader is now waiting for more
    assert not reading.done()
    payload.feed_data(BODY[10:])
    payload.feed_eof()
    assert await asyncio.wait_for(reading, 5) == BODY


async def test_no_content_length_reads_to_the_end() -> None:
    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    payload.feed_data(BODY)
    payload.feed_eof()
    assert await read_body(_request(payload, None), 1024, 5.0) == BODY


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    with pytest.raises(BodyRefused) as refused:
        await read_body(_request(payload, 4096), 1024, 5.0)
    assert (refused.value.status, refused.value.code) == (413, "TOO_LARGE")


async def test_a_body_that_stops_coming_is_a_body_timeout() -> None:
    from flowhooks.errors import BodyTimeout

    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    payload.feed_data(BODY[:10])  # and nothing more, ever
    with pytest.raises(BodyTimeout, match=r"within 0\.05 seconds"):
        await read_body(_request(payload, len(BODY)), 1024, 0.05)
