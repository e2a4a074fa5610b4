"""The date a caller said, read by validateDateTime's own parser (one parser, not two)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flowhooks.calendar.spoken import ANCHOR_WORDS, parse_date
from flowhooks.speech.normalize import normalize

MAX_WINDOW = 5  # words: "day after tomorrow", "25th of december 2026"


def extract_date(text: str, today: date, zone: ZoneInfo) -> str:
    """ISO date of the first date phrase in the text (the longest where it starts);
    empty if none. A bare number ("1500") is never taken for a date.

    Only windows holding an anchor word (a month, a weekday, today or tomorrow) are
    tried: normalising drops the separators of "25/12", so digits alone are a bare
    number here, and parse_date reads no other phrase; most utterances have none."""
    ws = normalize(text).split()
    anchors = [i for i, w in enumerate(ws) if w in ANCHOR_WORDS]
    if not anchors:
        return ""
    for start in range(max(0, anchors[0] - MAX_WINDOW + 1), anchors[-1] + 1):
        first = next(a for a in anchors if a >= start)  # windows must reach it
        for size in range(min(MAX_WINDOW, len(ws) - start), first - start, -1):
            phrase = " ".join(ws[start : start + size])
            if phrase.replace(" ", "").replace(".", "").isdigit():
                continue
            found = parse_date(phrase, today, zone)
            if found is not None:
                return found.date.isoformat()
    return ""
