"""The labelled corpus (tests/corpus/speech.txt): accuracy per extractor, with a floor.

Prints its table every run; fails when an extractor falls below its floor, listing
what it got wrong."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowhooks.speech.amounts import extract_amount
from flowhooks.speech.dates import extract_date
from flowhooks.speech.default_intents import DEFAULT_INTENTS
from flowhooks.speech.digits import extract_digits
from flowhooks.speech.intents import IntentSet
from flowhooks.speech.yesno import extract_yes_no

CORPUS = Path(__file__).parent.parent / "corpus" / "speech.txt"
TODAY, ZONE = date(2026, 11, 23), ZoneInfo("Asia/Kolkata")
FLOORS = {"digits": 0.99, "amount": 0.97, "yesno": 0.97, "date": 0.95, "intent": 0.90}
_INTENTS = IntentSet(DEFAULT_INTENTS)
EXTRACTORS: dict[str, Callable[[str], str]] = {
    "digits": extract_digits,
    "amount": extract_amount,
    "yesno": extract_yes_no,
    "date": lambda text: extract_date(text, TODAY, ZONE),
    "intent": lambda text: _INTENTS.match(text, 0.6).intent,
}


def corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            category, text, expected = (part.strip() for part in line.split("|"))
            rows.append((category, text, expected))
    return rows


def test_the_corpus_is_big_enough_and_covers_every_extractor() -> None:
    rows = corpus()
    assert len(rows) >= 300
    counts: dict[str, int] = defaultdict(int)
    for category, _, _ in rows:
        counts[category] += 1
    assert set(counts) == set(FLOORS) and min(counts.values()) >= 40


def test_accuracy_per_extractor(capsys: pytest.CaptureFixture[str]) -> None:
    misses: dict[str, list[str]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for category, text, expected in corpus():
        totals[category] += 1
        got = EXTRACTORS[category](text)
        if got != expected:
            misses[category].append(f"{text!r}: got {got!r}, expected {expected!r}")
    lines = ["", "extractor   utterances  correct  accuracy  floor"]
    failed = []
    for category, floor in FLOORS.items():
        total = totals[category]
        correct = total - len(misses[category])
        accuracy = correct / total
        lines.append(f"{category:<11} {total:>10}  {correct:>7}  {accuracy:>8.1%}  {floor:>5.0%}")
        if accuracy < floor:
            failed.append(category)
    with capsys.disabled():
        print("\n".join(lines))
        for category, found in misses.items():
            for miss in found:
                print(f"  miss [{category}] {miss}")
    assert not failed, f"below the floor: {failed}"
