"""The date a caller said, read by validateDateTime's own parser (one parser, not two)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flowhooks.calendar.spoken import parse_date
from flowhooks.speech.normalize import normalize

MAX_WINDOW = 5  # words: "day after tomorrow", "25th of december 2026"


def extract_date(text: str, today: date, zone: ZoneInfo) -> str:
    """ISO date of the first date phrase in the text (the longest where it starts);
    empty if none. A bare number ("1500") is never taken for a date."""
    ws = normalize(text).split()
    for start in range(len(ws)):
        for size in range(min(MAX_WINDOW, len(ws) - start), 0, -1):
            phrase = " ".join(ws[start : start + size])
            if phrase.replace(" ", "").replace(".", "").isdigit():
                continue
            found = parse_date(phrase, today, zone)
            if found is not None:
                return found.date.isoformat()
    return ""
