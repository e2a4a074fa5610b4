"""Logs never carry what callers send (issue 13): a failed statement's bound values and
error text, a raw header line aiohttp could not parse, and every line stays one JSON
object whatever the names hold."""

from __future__ import annotations

import http.client
import io
import logging
import socket

import orjson
import pytest
from sqlalchemy import text

from flowhooks.clock import RunningClock
from flowhooks.logs import AccessLog, AiohttpFilter, JsonFormatter
from flowhooks.storage import Storage, migrations
from flowhooks.storage import tables as t
from tests.conftest import NEUTRAL, envelope, settings_from
from tests.served import served

SECRET = "PIN-4321-CARD-4111111111111111"


def formatted(records: list[logging.LogRecord]) -> list[str]:
    formatter, keep = JsonFormatter(), AiohttpFilter()
    return [formatter.format(r) for r in records if keep.filter(r)]


async def test_a_failed_statement_logs_no_bound_value(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = Storage.open(db_url)
    log = logging.getLogger("flowhooks.test")
    try:
        await migrations.upgrade(s)
        row = {"version": 1, "description": SECRET, "applied_at": NEUTRAL}
        with pytest.raises(Exception) as failed:  # version 1 exists: a duplicate key
            async with s.write() as conn:
                await conn.execute(t.schema_version.insert().values(**row))
        assert SECRET not in str(failed.value)  # hide_parameters
        log.error("statement failed", exc_info=failed.value)
        if s.is_postgres:  # PostgreSQL quotes the bad value in its own error text
            with pytest.raises(Exception) as quoted:
                async with s.read() as conn:
                    await conn.execute(text("SELECT CAST(:v AS integer)"), {"v": SECRET})
            assert SECRET in str(quoted.value)  # the driver's text has it...
            log.error("statement failed", exc_info=quoted.value)
    finally:
        await s.close()
    lines = formatted(caplog.records)
    assert lines and all(SECRET not in line for line in lines)  # ...the log line has not
    assert all("database error text withheld" in orjson.loads(line)["exc"] for line in lines)


def test_a_header_aiohttp_cannot_parse_is_a_json_400_and_its_value_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with served(settings_from("[server]\nworkers = false\n"), RunningClock(NEUTRAL)) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /webhook HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer " + SECRET.encode() + b"\x01\r\n\r\n"
            )
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"400"
    assert b"application/json" in head
    doc = orjson.loads(body)
    assert (doc["status"], doc["error"]["code"]) == ("FAILED", "BAD_REQUEST")
    assert SECRET.encode() not in data
    lines = formatted(caplog.records)
    assert any('"error":"BadHttpMessage"' in line or "Bad" in line for line in lines)
    assert all(SECRET not in line for line in lines)


NASTY_NAMES = ['"}{"', "a\nb", "\\u0000", "tab\there", "\u2028", '\\"', "'; DROP"]


def test_every_log_line_stays_one_json_object(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stream = io.BytesIO()
    conf = settings_from("[server]\nworkers = false\n")
    with served(conf, RunningClock(NEUTRAL), access_log=AccessLog(stream)) as base:
        conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
        try:
            for name in NASTY_NAMES:
                for doc in (
                    envelope(name, **{name: name}),
                    envelope("validateDateTime", **{name: name, "inputDate": name}),
                ):
                    headers = {"X-Request-Id": name} if name.isprintable() else {}
                    conn.request("POST", "/webhook", orjson.dumps(doc), headers)
                    response = conn.getresponse()
                    response.read()
                    assert response.status < 500
        finally:
            conn.close()
    access = stream.getvalue().splitlines()
    assert len(access) == 2 * len(NASTY_NAMES)
    for line in [*access, *(s.encode() for s in formatted(caplog.records))]:
        assert isinstance(orjson.loads(line), dict)
        assert b"\n" not in line
