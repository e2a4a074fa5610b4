"""Envelope parsing and answers (SPEC 1)."""

from __future__ import annotations

from types import MappingProxyType

import orjson
import pytest

from flowhooks import envelope as e
from flowhooks.errors import BadEnvelope, HandlerFailed


def parse(doc: object) -> e.Envelope:
    return e.parse(orjson.dumps(doc))


@pytest.mark.parametrize(
    ("name", "bare"),
    [
        ("$flow.key.inputDate", "inputdate"),
        ("$flow.syskey.apiVersion", "apiversion"),
        ("$flow.clientID", "clientid"),
        ("$FLOW.KEY.InputDate", "inputdate"),
        ("inputDate", "inputdate"),
        ("$user.key.Lang", "$user.key.Lang"),
        ("$USER.KEY.Lang", "$user.key.Lang"),
    ],
)
def test_bare_names(name: str, bare: str) -> None:
    assert e.bare_name(name) == bare


def test_keys_are_normalised_last_wins_and_null_is_absent() -> None:
    env = parse(
        {
            "method": " validateDateTime ",
            "keys": [
                {"name": "$flow.key.inputDate", "value": "1"},
                {"name": "INPUTDATE", "value": "2"},
                {"name": "n", "value": 5},
                {"name": "f", "value": 1.5},
                {"name": "b", "value": True},
                {"name": "gone", "value": "x"},
                {"name": "gone", "value": None},
                {"name": "$user.key.lang", "value": "hi"},
                {"name": "nothing"},
            ],
        }
    )
    assert env.method == "validateDateTime"
    assert env.get("inputDate") == "2"
    assert (env.get("n"), env.get("f"), env.get("b")) == ("5", "1.5", "true")
    assert env.get("gone") is None and env.get("nothing") is None
    assert env.user_keys == {"lang": "hi"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b'{"keys": []}', "'method'"),
        (b'{"method": 5}', "'method'"),
        (b'{"method": "  "}', "'method'"),
        (b'{"method": "m", "keys": {}}', "'keys' must be a list"),
        (b'{"method": "m", "keys": [1]}', "keys[0]"),
        (b'{"method": "m", "keys": [{"value": "x"}]}', "keys[0]"),
        (b'{"method": "m", "keys": [{"name": ""}]}', "keys[0].name"),
    ],
)
def test_bad_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(BadEnvelope) as info:
        e.parse(body)
    assert message in info.value.message


def test_limits() -> None:
    with pytest.raises(BadEnvelope, match="at most 200"):
        parse({"method": "m", "keys": [{"name": f"k{i}", "value": "v"} for i in range(201)]})
    parse({"method": "m", "keys": [{"name": f"k{i}", "value": "v"} for i in range(200)]})
    with pytest.raises(BadEnvelope, match="1 to 128"):
        parse({"method": "m", "keys": [{"name": "n" * 129, "value": "v"}]})
    problems = parse(
        {
            "method": "m",
            "keys": [
                {"name": "big", "value": "v" * (8 * 1024 + 1)},
                {"name": "obj", "value": {"a": 1}},
            ],
        }
    ).problems
    assert [p.key for p in problems] == ["big", "obj"]


def test_success_answer_has_status_first_and_strings_only() -> None:
    a = e.success("m", "rid", {"x": True, "n": 3, "$user.key.lang": "hi", "none": None})
    assert a.http_status == 200
    assert a.body["keys"] == [
        {"name": "$flow.key.status", "value": "SUCCESS"},
        {"name": "$flow.key.x", "value": "true"},
        {"name": "$flow.key.n", "value": "3"},
        {"name": "$user.key.lang", "value": "hi"},
        {"name": "$flow.key.none", "value": ""},
    ]


def test_failed_answers() -> None:
    a = e.handler_failed("m", "rid", HandlerFailed("X", "boom", {"obdResponseCode": "401"}))
    assert a.http_status == 200 and a.body["status"] == "FAILED"
    names = [k["name"] for k in a.body["keys"]]
    assert names == [
        "$flow.key.status",
        "$flow.key.errorCode",
        "$flow.key.errorMessage",
        "$flow.key.obdResponseCode",
    ]
    err = e.error("m", "rid", 404, "UNKNOWN_METHOD", "no")
    assert err.body["error"] == {"code": "UNKNOWN_METHOD", "message": "no", "details": []}


def test_a_memoised_answer_renders_the_same_json_and_shares_nothing_mutable() -> None:
    outputs = {"outputDate": "2019-12-09T10:30:00+05:30", "dateIsValid": "true", "n": "3"}
    fresh = e.success("validateDateTime", "r1", outputs)
    frozen = MappingProxyType(dict(outputs))
    first = e.success("validateDateTime", "r2", frozen)
    second = e.success("validateDateTime", "r3", MappingProxyType(dict(outputs)))
    as_json = [orjson.loads(a.dumps()) for a in (fresh, first, second)]
    assert as_json[0]["keys"] == as_json[1]["keys"] == as_json[2]["keys"]
    assert as_json[1]["keys"][0] == {"name": "$flow.key.status", "value": "SUCCESS"}
    assert {"name": "$flow.key.dateIsValid", "value": "true"} in as_json[1]["keys"]
    assert [d["requestId"] for d in as_json] == ["r1", "r2", "r3"]
    # different values are never answered from another's rendering
    for n, text in ((4, "4"), (True, "true"), (1, "1"), ("3", "3")):
        other = e.success("validateDateTime", "r4", MappingProxyType({**outputs, "n": n}))
        assert {"name": "$flow.key.n", "value": text} in orjson.loads(other.dumps())["keys"]
