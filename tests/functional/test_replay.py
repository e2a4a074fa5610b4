"""The replay harness (SPEC 5): in-process, over HTTP, --record, exit status."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowhooks import cli, replay
from flowhooks.clock import RunningClock
from flowhooks.web import keys as appkeys
from flowhooks.web.app import create_app
from tests.conftest import CONFIGS, NEUTRAL, SHARED, load_config

CASE_OK = {
    "name": "holiday rolls",
    "now": "2019-12-07T10:00:00+05:30",
    "request": {
        "method": "validateDateTime",
        "keys": [{"name": "inputDate", "value": "25-12-2019"}],
    },
    "expect": {
        "http": 200,
        "status": "SUCCESS",
        "keys": {"$flow.key.outputDate": "2019-12-26T09:00:00+05:30", "$flow.key.smsDate": "*"},
    },
}
CASE_BAD = {
    **CASE_OK,
    "name": "wrong expectation",
    "expect": {
        "http": 200,
        "keys": {"$flow.key.outputDate": "1999-01-01T00:00:00+05:30", "$flow.key.nope": "x"},
    },
}
BARE = {"method": "validateDateTime", "keys": [{"name": "inputDate", "value": "today"}]}


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def test_in_process_pass_and_fail_with_key_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([CASE_OK, CASE_BAD]))
    code, out = run_cli(
        "replay", str(cases), "--config", str(CONFIGS / "calendars.toml"), capsys=capsys
    )
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == "[1/2] PASS holiday rolls"
    assert lines[1] == "[2/2] FAIL wrong expectation"
    assert (
        "$flow.key.outputDate: expected '1999-01-01T00:00:00+05:30',"
        " got '2019-12-26T09:00:00+05:30'" in out
    )
    assert "$flow.key.nope: expected 'x', missing" in out
    assert lines[-1] == "1 passed, 1 failed"


def test_jsonl_single_case_and_bare_envelope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text(json.dumps(CASE_OK) + "\n\n" + json.dumps(BARE) + "\n")
    single = tmp_path / "one.json"
    single.write_text(json.dumps(CASE_OK))
    code, out = run_cli(
        "replay",
        str(jsonl),
        str(single),
        "--config",
        str(CONFIGS / "calendars.toml"),
        capsys=capsys,
    )
    assert code == 0
    assert "SENT cases.jsonl#2 validateDateTime: http 200" in out
    assert "$flow.key.outputDate = " in out
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_record_writes_answers_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([CASE_BAD, {**BARE, "name": None}]))
    code, _ = run_cli(
        "replay", str(cases), "--config", str(CONFIGS / "calendars.toml"), "--record", capsys=capsys
    )
    assert code == 0
    docs = json.loads(cases.read_text())
    assert docs[0]["expect"]["keys"]["$flow.key.outputDate"] == "2019-12-26T09:00:00+05:30"
    assert docs[0]["now"] == "2019-12-07T10:00:00+05:30"
    assert docs[1]["expect"]["http"] == 200 and "request" in docs[1]
    code, out = run_cli(
        "replay", str(cases), "--config", str(CONFIGS / "calendars.toml"), capsys=capsys
    )
    assert "[1/2] PASS wrong expectation" in out  # now it expects what the service answers


async def test_over_http_against_a_running_service(aiohttp_server: Any) -> None:
    app = create_app(load_config("calendars.toml"), clock=RunningClock(NEUTRAL))
    server = await aiohttp_server(app)
    files = [
        replay.CaseFile(
            "x.json",
            [replay.Case.from_doc(CASE_OK, "x"), replay.Case.from_doc(CASE_BAD, "y")],
            "list",
        )
    ]  # type: ignore[arg-type]
    out = io.StringIO()
    async with aiohttp.ClientSession() as session:
        sender = replay.HttpSender(session, str(server.make_url("/")), None)
        assert sender.url.endswith("/webhook")
        passed, failed = await replay.replay(files, sender, out)
    assert (passed, failed) == (1, 1)
    assert out.getvalue().splitlines()[-1] == "1 passed, 1 failed"


def test_needs_exactly_one_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "c.json"
    cases.write_text(json.dumps(CASE_OK))
    assert cli.main(["replay", str(cases)]) == 2
    assert (
        cli.main(
            ["replay", str(tmp_path / "missing.json"), "--config", str(CONFIGS / "calendars.toml")]
        )
        == 2
    )


def test_bad_case_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "c.json"
    cases.write_text(json.dumps([{"name": "no request"}]))
    assert cli.main(["replay", str(cases), "--config", str(CONFIGS / "calendars.toml")]) == 2
    assert "needs a 'request'" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "cases").is_dir(), reason="../shared is not beside the checkout")
def test_public_cases_through_the_console_script() -> None:
    exe = shutil.which("flowhooks", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run(
        [
            exe,
            "replay",
            str(SHARED / "cases" / "validate_datetime.json"),
            "--config",
            str(SHARED / "cases" / "example.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "11 passed, 0 failed"


async def test_in_process_replay_never_runs_the_dispatcher(tmp_path: Path) -> None:
    conf = load_config("calendars.toml")
    assert conf.server.workers  # the config asks for workers ...
    async with replay.in_process(conf) as sender:
        assert appkeys.DISPATCHER not in sender.app  # ... the replay does not start them
        assert appkeys.OUTBOUND in sender.app
