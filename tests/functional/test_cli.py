"""The command line: --help everywhere, check-config, methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowhooks import cli
from tests.conftest import CONFIGS


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["replay"], ["methods"], ["check-config"], ["db"], ["worker"]]
)
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: flowhooks" in capsys.readouterr().out


def test_check_config_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check-config", "--config", str(CONFIGS / "calendars.toml")]) == 0
    assert ": OK (" in capsys.readouterr().out


def test_check_config_reports_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[calendars.default]\nhours = "9 to 5"\n[server]\nport = -1\n')
    assert cli.main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: calendars.default.hours:" in err
    assert f"{bad}: server.port:" in err


def test_serve_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'x'\n")
    assert cli.main(["serve", "--config", str(bad)]) == 2
    assert "server.port" in capsys.readouterr().err


def test_methods_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["methods"]) == 0
    assert "validateDateTime" in capsys.readouterr().out
    assert cli.main(["methods", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any(m["method"] == "validateDateTime" for m in doc)
