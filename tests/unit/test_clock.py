"""The one clock: nothing else in the package reads the wall clock; the running clock."""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowhooks.clock import FixedClock, RunningClock, SystemClock, clock_from
from flowhooks.errors import ConfigError
from tests.conftest import NEUTRAL, settings_from

PACKAGE = Path(__file__).parent.parent.parent / "flowhooks"
# calls that read the machine's date or time of day; monotonic timers are not among them
WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "asctime"),
    ("time", "strftime"),
}


def wall_clock_reads(source: str) -> list[str]:
    """``owner.attr(...)`` calls and ``from owner import attr`` imports that read the clock."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.func.attr) in WALL_CLOCK_CALLS:
                found.append(f"{node.lineno}: {name}.{node.func.attr}()")
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if ("time", alias.name) in WALL_CLOCK_CALLS:
                    found.append(f"{node.lineno}: from time import {alias.name}")
    return found


def test_the_scan_sees_every_way_of_reading_the_clock() -> None:
    source = (
        "import datetime as dt\nfrom time import time\n"
        "a = datetime.now(UTC)\nb = dt.datetime.now()\nc = date.today()\nd = time.time()\n"
        "e = time.monotonic()\nf = clock.now()\n"
    )
    assert wall_clock_reads(source) == [
        "2: from time import time",
        "3: datetime.now()",
        "4: datetime.now()",
        "5: date.today()",
        "6: time.time()",
    ]


def test_nothing_outside_clock_py_reads_the_wall_clock() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): reads
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "clock.py" and (reads := wall_clock_reads(path.read_text()))
    }
    assert offenders == {}, "read 'now' through the app's Clock (flowhooks/clock.py)"


def test_running_clock_starts_where_told_and_advances_in_real_time() -> None:
    clock = RunningClock(NEUTRAL)
    first = clock.now()
    assert first.tzinfo is not None and timedelta(0) <= first - NEUTRAL < timedelta(seconds=5)
    deadline = time.monotonic() + 5
    while clock.now() == first and time.monotonic() < deadline:
        pass
    assert clock.now() > first  # time passes, as for a dispatcher waiting on a lease
    clock.advance(timedelta(minutes=31))
    assert timedelta(minutes=31) <= clock.now() - NEUTRAL < timedelta(minutes=31, seconds=5)


def test_running_clock_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="offset"):
        RunningClock(datetime(2026, 11, 23, 12, 0))


def test_clock_from_config() -> None:
    assert isinstance(clock_from(None), SystemClock)
    assert isinstance(clock_from(NEUTRAL), RunningClock)
    conf = settings_from('[testing]\nclock_start = "2026-11-23T12:00:00+05:30"')
    assert conf.testing.clock_start == NEUTRAL
    start = clock_from(conf.testing.clock_start).now()
    assert start.astimezone(UTC).date() == NEUTRAL.astimezone(UTC).date()
    with pytest.raises(ConfigError) as info:
        settings_from('[testing]\nclock_start = "2026-11-23T12:00:00"')
    assert "testing.clock_start" in info.value.problems[0] and "offset" in info.value.problems[0]


def test_fixed_clock_stands_still() -> None:
    clock = FixedClock(NEUTRAL)
    assert clock.now() == clock.now() == NEUTRAL
