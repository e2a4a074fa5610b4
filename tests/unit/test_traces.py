"""Traces, the pure parts (issue 26): what a trace keeps and redacts, the replay case of
a trace, the [traces] settings, sampling, cursors, and filling redacted secrets."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from flowhooks import envelope, replay
from flowhooks.clock import FixedClock
from flowhooks.errors import ConfigError
from flowhooks.methods.engine import Outcome
from flowhooks.traces import search
from flowhooks.traces.export import case_of, varies
from flowhooks.traces.record import (
    Captured,
    Shaper,
    Tokens,
    Trace,
    capture,
    captures_of,
    moment_bytes,
    moment_of,
)
from flowhooks.traces.recorder import Recorder, rules_of
from flowhooks.traces.writer import Writer
from tests.conftest import settings_from

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
EMPTY = b'{"method": "m", "keys": []}'  # outcome([], ...)'s request


class Reason(StrEnum):
    ODD = "ODD"


CONF = settings_from(
    """
[clients.acme]
security_id = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
cust_token = "acme-cust-token"
default_region = "IN"
[bots.b1]
url = "https://bot.example/chat"
token = "bot-token-1"
client = "acme"
[traces]
max_value_chars = 20
"""
)


def shaper() -> Shaper:
    return Shaper(rules_of(CONF))


def cap(
    out: Outcome, rid: str, wire: bytes, body: bytes | None, tokens: Tokens | None = None
) -> Captured:
    """The capture as the writer process reads it."""
    [back] = captures_of(capture(out, rid, 0.0012, wire, body, lambda: NOW, tokens or Tokens()))
    return back


def outcome(keys: list[dict[str, Any]], answer: dict[str, Any], method: str = "m") -> Outcome:
    body = orjson.dumps({"method": method, "keys": keys})
    env = envelope.parse(body)
    wire = {"method": method, "status": "SUCCESS", "requestId": "r-1"} | answer
    return Outcome(envelope.Answer(200, wire), method, "", env, NOW)


def trace(out: Outcome) -> Trace:
    assert out.env is not None
    body = orjson.dumps({"method": out.env.method, "keys": list(out.env.raw)})
    made: Trace = shaper().trace(cap(out, "r-1", out.answer.dumps(), body))
    return made


def keys(text: str | None) -> dict[str, Any]:
    assert text is not None
    doc = orjson.loads(text)
    items = doc["keys"] if isinstance(doc, dict) else doc
    return {k["name"]: k["value"] for k in items}


def test_secrets_become_stars_by_the_one_rule_in_the_request_and_the_answer() -> None:
    sent = [
        {"name": "$flow.syskey.securityID", "value": "s" * 64},
        {"name": "apiKey", "value": "k-1"},
        {"name": "custToken", "value": "ct"},
        {"name": "$user.key.botSecret", "value": "bs"},
        {"name": "myPassword", "value": 1234},
        {"name": "clientID", "value": "acme"},
        {"name": "inputDate", "value": "25-12-2026"},
    ]
    answered = [
        {"name": "$flow.key.status", "value": "SUCCESS"},
        {"name": "$user.key.apiToken", "value": "tok"},
    ]
    made = trace(outcome(sent, {"keys": answered}))
    assert keys(made.request) == {
        "$flow.syskey.securityID": "***",
        "apiKey": "***",
        "custToken": "***",
        "$user.key.botSecret": "***",
        "myPassword": "***",
        "clientID": "acme",
        "inputDate": "25-12-2026",
    }
    assert keys(made.answer) == {"$flow.key.status": "SUCCESS", "$user.key.apiToken": "***"}
    stored = f"{made.request}{made.answer}"
    for secret in ("s" * 64, "k-1", '"ct"', "bs", "1234", "tok"):
        assert secret not in stored
    assert made.client == "acme" and made.latency_ms == 1.2 and made.at == NOW


def test_long_values_are_cut_and_marked_odd_values_named() -> None:
    sent = [
        {"name": "text", "value": "x" * 25},
        {"name": "n", "value": 12},
        {"name": "flag", "value": True},
        {"name": "obj", "value": {"token": "nested secret"}},
    ]
    made = trace(outcome(sent, {"keys": [{"name": "$flow.key.out", "value": "y" * 21}]}))
    assert keys(made.request) == {
        "text": "x" * 20 + "…[+5 chars cut]",
        "n": 12,
        "flag": True,
        "obj": "<dict>",
    }
    assert keys(made.answer) == {"$flow.key.out": "y" * 20 + "…[+1 chars cut]"}
    assert made.cut and "nested secret" not in (made.request or "")


def test_plain_keys_are_stored_as_sent_and_memoised_only_without_secrets() -> None:
    s = shaper()
    plain = [{"name": "$flow.key.inputDate", "value": "25-12-2026"}]
    out = outcome(plain, {"keys": [{"name": "$flow.key.status", "value": "SUCCESS"}]})
    body = orjson.dumps({"method": "m", "keys": plain})
    first = s.trace(cap(out, "r-1", out.answer.dumps(), body))
    assert orjson.loads(first.request) == {"method": "m", "keys": plain}
    assert list(s._requests) == [body] and s._requests[body].stored == first.request
    secret = [{"name": "securityID", "value": "s" * 64}]
    out = outcome(secret, {"keys": []})
    body = orjson.dumps({"method": "m", "keys": secret})
    s.trace(cap(out, "r-2", out.answer.dumps(), body))
    assert body not in s._requests  # a body with a secret is never kept


def test_a_memoised_answer_is_read_from_its_bytes_once() -> None:
    s = shaper()
    fragment = orjson.Fragment(b'[{"name":"$flow.key.status","value":"SUCCESS"}]')
    out = outcome([], {"keys": fragment})
    wire = out.answer.dumps()
    tokens = Tokens()
    first, again = (s.trace(cap(out, rid, wire, EMPTY, tokens)) for rid in ("r-1", "r-2"))
    assert keys(first.answer) == {"$flow.key.status": "SUCCESS"} and again.answer == first.answer
    assert list(s._answers) == [tokens.of(fragment)]  # one answer read, by its number
    other = outcome([], {"keys": orjson.Fragment(b"[]")})
    assert s.trace(cap(other, "r-3", other.answer.dumps(), EMPTY, tokens)).answer == "[]"


def test_the_owner_cli_call_key_and_error_code() -> None:
    assert trace(outcome([{"name": "custToken", "value": "acme-cust-token"}], {})).client == (
        "acme"
    )
    assert trace(outcome([{"name": "botid", "value": "b1"}], {})).client == "acme"
    assert trace(outcome([{"name": "custToken", "value": "nobody's"}], {})).client == "default"
    made = trace(
        outcome(
            [
                {"name": "$flow.key.contactNumber", "value": "099797 46666"},
                {"name": "ucid", "value": "U-1"},
                {"name": "callSid", "value": "ignored: ucid comes first"},
                {"name": "clientID", "value": "acme"},
            ],
            {
                "status": "FAILED",
                "keys": [
                    {"name": "$flow.key.status", "value": "FAILED"},
                    {"name": "$flow.key.errorCode", "value": "NO_VALID_SLOT"},
                ],
            },
        )
    )
    assert (made.cli, made.call_key, made.error_code) == ("+919979746666", "U-1", "NO_VALID_SLOT")
    assert trace(outcome([{"name": "cli", "value": "not a number"}], {})).cli == ""


def test_a_flow_tokens_client_owns_the_trace_of_an_envelope_that_names_none() -> None:
    """The engine puts a flow token's client into clientID; the writer reads the body
    again, so the capture carries clientID as the engine left it."""
    out = outcome([{"name": "inputDate", "value": "today"}], {"keys": []})
    assert out.env is not None
    body = orjson.dumps({"method": "m", "keys": list(out.env.raw)})
    assert trace(out).client == "default"
    out.env.keys = {**out.env.keys, "clientid": "acme"}  # what Engine._act_as does
    made = shaper().trace(cap(out, "r-1", out.answer.dumps(), body))
    assert made.client == "acme" and keys(made.request) == {"inputDate": "today"}


def test_the_writer_process_gets_no_secret_and_captures_cross_the_pipe_intact() -> None:
    rules = rules_of(CONF)
    sent = orjson.dumps(rules.to_json())
    for secret in (b"acme-cust-token", b"bot-token-1", b"SSSS"):
        assert secret not in sent
    assert Shaper(type(rules).from_json(orjson.loads(sent))).rules == rules
    out = outcome([{"name": "clientID", "value": "acme"}], {"keys": []})
    body, wire = b'{"method":"m","keys":[{"name":"clientID","value":"acme"}]}', out.answer.dumps()
    odd = Outcome(out.answer, "m", Reason.ODD, out.env, NOW)  # a str subclass: made plain
    tokens = Tokens()
    sent = [capture(o, rid, 0.25, wire, b, lambda: NOW, tokens) for o, rid, b in
            ((out, "r-1", body), (odd, "r-ü", None))]  # fmt: skip
    first, second = captures_of(b"".join(sent))
    assert first == ("r-1", 0.25, moment_bytes(NOW), "m", "", 200, "SUCCESS", wire, body,
                     True, "acme", 0)  # fmt: skip
    assert second[:5] == ("r-ü", 0.25, moment_bytes(NOW), "m", "ODD") and second[8] is None
    assert type(second[4]) is str
    for cut_short in (sent[0][:-1], sent[0][:10], sent[0] + b"x"):
        with pytest.raises(ValueError):
            captures_of(cut_short)


@pytest.mark.parametrize(
    "at",
    [
        NOW.replace(microsecond=123457),
        datetime(1971, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 7, 1, 12, 30, 0, 7, tzinfo=ZoneInfo("Europe/Berlin")),
    ],
)
def test_the_moment_crosses_the_pipe_exact_to_the_microsecond(at: datetime) -> None:
    back = moment_of(moment_bytes(at))
    assert back == at and back.tzinfo is UTC


def test_a_body_that_was_no_envelope_has_no_request_and_no_case() -> None:
    answer = envelope.error("", "r-1", 400, "BAD_ENVELOPE", "body is not valid JSON")
    out = Outcome(answer, "unknown", "BAD_ENVELOPE")
    made = shaper().trace(cap(out, "r-1", answer.dumps(), b"{not json"))
    assert made.request is None and made.method == "unknown" and made.client == "default"
    assert made.error_code == "BAD_ENVELOPE" and made.http_status == 400
    assert case_of({"request": None}) is None


def test_moment_dependent_values_are_any_in_the_case() -> None:
    rid = "7892643b6a190000000002"
    assert varies("3f1c2b7e-9a4d-4c1b-8e2f-0a1b2c3d4e5f", rid)
    assert varies("a, 3F1C2B7E-9A4D-4C1B-8E2F-0A1B2C3D4E5F", rid)
    assert varies("http://127.0.0.1:8080/s/AbCdEfGh", rid)
    assert varies(f"internal error; requestId {rid}", rid)
    assert varies("x…[+3 chars cut]", rid)
    assert not varies("2026-12-26T11:00:00+05:30", rid) and not varies("200", rid)
    row = {
        "request_id": rid,
        "client": "acme",
        "at": NOW,
        "method": "createOutbound",
        "cli": "",
        "http_status": 200,
        "status": "SUCCESS",
        "request": '{"method":"createOutbound","keys":[{"name":"securityID","value":"***"}]}',
        "answer": '[{"name":"$flow.key.obdReqID","value":"3f1c2b7e-9a4d-4c1b-8e2f-0a1b2c3d4e5f"},'
        '{"name":"$flow.key.obdResponseCode","value":"200"}]',
    }
    assert case_of(row) == {
        "name": "createOutbound - 2026-11-23T06:30:00+00:00",
        "now": "2026-11-23T06:30:00+00:00",
        "request": {"method": "createOutbound", "keys": [{"name": "securityID", "value": "***"}]},
        "expect": {
            "http": 200,
            "status": "SUCCESS",
            "keys": {"$flow.key.obdReqID": "*", "$flow.key.obdResponseCode": "200"},
        },
        "trace": {"requestId": rid, "client": "acme"},
    }


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("sample_rate = 1.5", "traces.sample_rate"),
        ("retention_days = -1", "traces.retention_days"),
        ("max_value_chars = 4", "traces.max_value_chars"),
        ('call_keys = [""]', "traces.call_keys"),
        ("queue_size = 0", "traces.queue_size"),
        ("enabled = 3", "traces.enabled"),
        ("sampling = 1", "traces.sampling"),
    ],
)
def test_traces_settings_errors_name_their_toml_path(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from(f"[traces]\n{text}\n")
    assert any(f"<test>: {path}" in p for p in err.value.problems), err.value.problems


def test_sampling_keeps_or_leaves_whole_calls() -> None:
    conf = settings_from("[traces]\nsample_rate = 0.5\n")
    recorder = Recorder(conf, FixedClock(NOW))
    kept = {}
    for call in range(200):
        for step in range(3):
            out = outcome([{"name": "callId", "value": f"c-{call}"}], {"keys": []})
            before = len(recorder._batch)
            recorder.add(out, f"r-{call}-{step}", 0.0, b"{}")
            kept.setdefault(call, set()).add(len(recorder._batch) > before)
    assert all(len(v) == 1 for v in kept.values())  # a call: all its envelopes or none
    share = sum(v == {True} for v in kept.values()) / len(kept)
    assert 0.35 < share < 0.65
    off = settings_from("[traces]\nsample_rate = 0\n")
    assert not Recorder(off, FixedClock(NOW)).enabled


def test_unauthorized_and_forbidden_answers_are_not_traced() -> None:
    recorder = Recorder(CONF, FixedClock(NOW))
    for code in ("UNAUTHORIZED", "FORBIDDEN"):
        answer = envelope.error("", "r", 401, code, "no")
        recorder.add(Outcome(answer, "unknown", code), "r", 0.0, b"{}")
    assert recorder._count == 0 and not recorder._batch and recorder.dropped == 0


def test_an_answer_that_cannot_be_captured_is_counted_dropped_and_costs_no_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(CONF, FixedClock(NOW))
    odd = Outcome(envelope.Answer(200, {"status": 7, "keys": []}), "m", "")  # a plug-in's bug
    recorder.add(odd, "r-1", 0.0, b"{}")  # does not raise
    assert recorder.dropped == 1 and recorder._count == 0 and not recorder._batch
    assert "trace not captured" in [r.getMessage() for r in caplog.records]


def test_cursors_round_trip_and_refuse_what_they_did_not_make() -> None:
    at = datetime(2026, 11, 23, 6, 30, 0, 123456, tzinfo=UTC)
    assert search.parse_cursor(search.cursor_text((at, 42))) == (at, 42)
    for bad in ("", "1", "1.", ".1", "a.1", "1.-1", "1.1.1", "\uff11.1"):
        with pytest.raises(ValueError):
            search.parse_cursor(bad)


class Echo:
    """A sender that answers every request with its keys, recording what it sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, request: dict[str, Any], now: str | None) -> tuple[int, dict[str, Any]]:
        self.sent.append(request)
        return 200, {
            "status": "SUCCESS",
            "keys": [{"name": "$flow.key.status", "value": "SUCCESS"}],
        }


CASE = {
    "name": "booked",
    "now": "2026-11-23T06:30:00+00:00",
    "request": {
        "method": "createOutbound",
        "keys": [
            {"name": "$flow.syskey.securityID", "value": "***"},
            {"name": "clientID", "value": "acme"},
        ],
    },
    "expect": {"http": 200, "status": "SUCCESS", "keys": {"$flow.key.status": "SUCCESS"}},
}


async def test_secrets_are_filled_when_sent_and_never_written_back(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(CASE) + "\n")
    files = [replay.CaseFile.read(path)]
    sender, out = Echo(), io.StringIO()
    await replay.replay(files, sender, out, record=True, config=replay.config_secrets(CONF))
    assert sender.sent[0]["keys"][0]["value"] == "S" * 64
    assert "S" * 64 not in path.read_text() and '"***"' in path.read_text()
    assert files[0].cases[0].request == CASE["request"]
    given = replay.given_secrets(["$flow.syskey.securityID=given"])
    await replay.replay(files, sender, out, secrets=given, config=replay.config_secrets(CONF))
    assert sender.sent[1]["keys"][0]["value"] == "given"  # --secret wins over the config
    out = io.StringIO()
    passed, failed = await replay.replay(files, sender, out)
    assert (passed, failed) == (0, 0) and len(sender.sent) == 2
    assert "SKIP booked: no value for the redacted $flow.syskey.securityID" in out.getvalue()
    assert "(give --secret securityid=VALUE)" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "0 passed, 0 failed, 1 skipped"
    for bad in (["novalue"], ["=x"]):
        with pytest.raises(ValueError):
            replay.given_secrets(bad)


async def test_a_frame_the_writer_cannot_read_is_counted_dropped_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the serving process counts as held must come back as written or dropped,
    or its queue would fill for good."""
    reports: list[tuple[int, int]] = []
    stored: list[Trace] = []

    async def store(rows: Any) -> None:
        stored.extend(rows)

    out = outcome([], {"keys": []})
    good = capture(out, "r-1", 0.001, out.answer.dumps(), EMPTY, lambda: NOW, Tokens())
    writer = Writer(shaper(), store, lambda w, d: reports.append((w, d)))
    writer.put(good[:-3], 1)  # cut short
    writer.put(good + good, 3)  # miscounted
    writer.put(good, 1)
    writer.close()
    await writer.run()
    assert reports == [(0, 1), (0, 3), (1, 0)]
    assert [t.request_id for t in stored] == ["r-1"]
    said = [r.getMessage() for r in caplog.records]
    assert "traces not read" in said and "traces frame miscounted" in said
