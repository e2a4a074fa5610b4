"""Config loading: defaults, ${ENV}, every error named by its TOML path, no secrets quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowhooks import settings as s
from flowhooks.errors import ConfigError
from tests.conftest import ROOT, settings_from


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from(text, env)
    return info.value.problems


def test_empty_config_gets_defaults_and_implicit_default_client_and_calendar() -> None:
    conf = settings_from("", memory=False)
    assert conf.server.port == 8080
    assert conf.server.max_body_bytes == 65536
    assert conf.storage.url.startswith("sqlite:///")
    assert conf.testing.allow_clock_override is False
    assert "default" in conf.calendars and "default" in conf.clients
    assert conf.calendars["default"].workdays == [0, 1, 2, 3, 4]


def test_env_substitution() -> None:
    conf = settings_from(
        '[server]\nhost = "${HOST}"\npublic_base_url = "https://${D}/x"',
        {"HOST": "0.0.0.0", "D": "a.example"},
    )
    assert conf.server.host == "0.0.0.0"
    assert conf.server.public_base_url == "https://a.example/x"


def test_missing_env_variable_is_named_with_its_path() -> None:
    assert problems('[server]\ntoken = "${NOT_SET}"') == [
        "<test>: server.token: environment variable NOT_SET is not set"
    ]


def test_every_error_is_reported_with_its_path() -> None:
    found = problems(
        """
[server]
port = "abc"
prot = 1
paths = ["relative"]
[calendars.x]
timezone = "Mars/Base"
hours = "9-18"
workdays = ["Mon", "Funday"]
day_hours = { Sat = "14:00-10:00" }
[calendars.x.types.Callback]
hours = "late"
[clients.a]
calling_calendar = "nowhere"
blocked_number_types = ["PREMIUM_RATE", "SPAM"]
default_region = "ZZ"
[[agents]]
cli = "1"
name = "A"
did = "2"
client = "ghost"
"""
    )
    paths = [p.split(": ")[1] for p in problems_text(found)]
    assert paths == sorted(paths, key=paths.index)  # stable order
    for expected in (
        "server.port",
        "server.prot",
        "server.paths",
        "calendars.x.timezone",
        "calendars.x.hours",
        "calendars.x.workdays[1]",
        "calendars.x.day_hours.Sat",
        "calendars.x.types.Callback.hours",
        "clients.a.blocked_number_types",
        "clients.a.default_region",
    ):
        assert expected in paths, (expected, found)
    assert any("'abc'" in p for p in found)  # the bad value is quoted


def problems_text(found: list[str]) -> list[str]:
    return [p for p in found if p.startswith("<test>: ")]


def test_cross_references_are_checked() -> None:
    found = problems(
        '[clients.a]\ncalling_calendar = "nowhere"\n'
        '[[agents]]\ncli = "1"\nname = "A"\ndid = "2"\nclient = "ghost"\n'
        '[calendars.c]\ncountry = "US"\nsubdivision = "ZZ"\n'
    )
    assert "<test>: clients.a.calling_calendar: no [calendars.nowhere]" in found
    assert "<test>: agents[0].client: no [clients.ghost]" in found
    assert any(p.startswith("<test>: calendars.c.subdivision:") for p in found)


def test_secret_values_are_never_quoted() -> None:
    found = problems('[clients.a]\nsecurity_id = "short-secret-value"\n[server]\ntoken = 12')
    assert any("clients.a.security_id: must be 64 characters" in p for p in found)
    assert not any("short-secret-value" in p for p in found)
    assert not any("12" in p.split(":", 2)[-1] for p in found if "server.token" in p)


def test_secrets_are_hidden_in_repr() -> None:
    conf = settings_from(f'[clients.a]\nsecurity_id = "{"x" * 64}"')
    assert "x" * 64 not in repr(conf)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport = 1")
    with pytest.raises(ConfigError) as info:
        s.load(bad, env={})
    assert info.value.problems[0].startswith(f"{bad}: not valid TOML")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        s.load(tmp_path / "missing.toml", env={})


def test_flowhooks_config_env_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[server]\nport = 9999\n")
    assert s.load(None, env={"FLOWHOOKS_CONFIG": str(f)}).server.port == 9999


def test_shipped_example_config_is_valid() -> None:
    conf = s.load(ROOT / "config" / "flowhooks.toml", env={})
    assert conf.calendars["default"].country == "IN"


def test_agent_numbers_are_checked() -> None:
    found = problems('[[agents]]\ncli = "hello"\nname = "A"\ndid = "+918068000000"\n')
    assert found == ["<test>: agents[0].cli: 'hello' is not a phone number"]


def test_storage_deadlines_are_checked_with_their_paths() -> None:
    """[storage]'s deadlines (issue 22): positive, bounded, each error at its path."""
    found = problems(
        """
[storage]
connect_timeout_seconds = 0
acquire_timeout_seconds = -1
statement_timeout_seconds = "soon"
ping_timeout_seconds = 61
"""
    )
    assert len(found) == 4
    for key in ("connect", "acquire", "statement", "ping"):
        assert any(p.startswith(f"<test>: storage.{key}_timeout_seconds: ") for p in found), found
    conf = settings_from("[storage]\nstatement_timeout_seconds = 5.5")
    assert conf.storage.statement_timeout_seconds == 5.5
    assert conf.storage.connect_timeout_seconds == 2.0  # the defaults: a few seconds
    assert conf.storage.acquire_timeout_seconds == 1.0
    assert conf.storage.ping_timeout_seconds == 0.8
