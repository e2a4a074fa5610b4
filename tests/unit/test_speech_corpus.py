"""The labelled corpus (tests/corpus/speech.txt): every output of every utterance.

Each line holds what the recogniser heard and what every output should be, empty ones
included; tests/corpus/intents.txt holds more intents alone (``said | intent``, held out
while the intent rules were tuned), measured as a row of its own. Per output the table
counts what was *there* (a value expected), what was *found* (that value answered), and
what was *wrong* (a value answered that is not the expected one, where one was expected
or none was). A wrong value is worse than none, so the floors are: wrong at most 1 % of
the utterances, found at least 90 % of what is there, for every output, intents too.
The table prints every run, with every wrong and missed utterance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowhooks.speech.amounts import extract_amount
from flowhooks.speech.default_intents import DEFAULT_INTENTS
from flowhooks.speech.digits import extract_digits
from flowhooks.speech.extract import extract_date
from flowhooks.speech.intents import IntentSet
from flowhooks.speech.yesno import extract_yes_no

CORPUS = Path(__file__).parent.parent / "corpus" / "speech.txt"
INTENTS = CORPUS.with_name("intents.txt")
TODAY, ZONE = date(2026, 11, 23), ZoneInfo("Asia/Kolkata")  # a Monday
OUTPUTS = ("digits", "amount", "date", "yesNo", "intent")
MAX_WRONG, MIN_FOUND = 0.01, 0.90
_INTENTS = IntentSet(DEFAULT_INTENTS)
EXTRACTORS: dict[str, Callable[[str], str]] = {
    "digits": extract_digits,
    "amount": extract_amount,
    "date": lambda text: extract_date(text, TODAY, ZONE),
    "yesNo": extract_yes_no,
    "intent": lambda text: _INTENTS.match(text, 0.6).intent,
}


@dataclass
class Tally:
    utterances: int = 0
    there: int = 0
    found: int = 0
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def corpus() -> list[tuple[str, dict[str, str]]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            said, *expected = (part.strip() for part in line.split("|"))
            assert len(expected) == len(OUTPUTS), line
            rows.append((said, dict(zip(OUTPUTS, expected, strict=True))))
    return rows


def intents() -> list[tuple[str, str]]:
    rows = []
    for line in INTENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            said, want = (part.strip() for part in line.split("|"))
            rows.append((said, want))
    return rows


def count(t: Tally, said: str, got: str, want: str, empty: str) -> None:
    t.utterances += 1
    t.there += want != empty
    if got == want:
        t.found += want != empty
    elif got != empty:
        t.wrong.append(f"{said!r}: got {got!r}, expected {want!r}")
    else:
        t.missed.append(f"{said!r}: got nothing, expected {want!r}")


def tally() -> dict[str, Tally]:
    tallies = {name: Tally() for name in (*OUTPUTS, "intents.txt")}
    for said, expected in corpus():
        for name in OUTPUTS:
            empty = "none" if name == "intent" else ""
            count(tallies[name], said, EXTRACTORS[name](said), expected[name], empty)
    for said, want in intents():
        count(tallies["intents.txt"], said, EXTRACTORS["intent"](said), want, "none")
    return tallies


def test_the_corpus_is_big_and_labels_every_output() -> None:
    rows = corpus()
    assert len(rows) >= 600
    assert len({said for said, _ in rows}) == len(rows), "an utterance is there twice"
    for name in ("digits", "amount", "date", "yesNo"):
        assert sum(bool(expected[name]) for _, expected in rows) >= 60, name


def test_the_intents_file_labels_intents_of_the_default_set() -> None:
    rows = intents()
    assert len({said for said, _ in rows}) == len(rows), "an utterance is there twice"
    assert {want for _, want in rows} == {*DEFAULT_INTENTS, "none"}


def test_accuracy_per_output(capsys: pytest.CaptureFixture[str]) -> None:
    tallies = tally()
    lines = ["", "output       utterances  there  found  found %  wrong  wrong %  floors"]
    failed = []
    floors = f"found ≥ {MIN_FOUND:.0%}, wrong ≤ {MAX_WRONG:.0%}"
    for name, t in tallies.items():
        found, wrong = t.found / t.there, len(t.wrong) / t.utterances
        if not (found >= MIN_FOUND and wrong <= MAX_WRONG):
            failed.append(name)
        lines.append(
            f"{name:<12} {t.utterances:>10}  {t.there:>5}  {t.found:>5}  {found:>7.1%}"
            f"  {len(t.wrong):>5}  {wrong:>7.1%}  {floors}"
        )
    with capsys.disabled():
        print("\n".join(lines))
        for name, t in tallies.items():
            for miss in t.wrong:
                print(f"  wrong  [{name}] {miss}")
            for miss in t.missed:
                print(f"  missed [{name}] {miss}")
    assert not failed, f"below the floor: {failed}"
