"""Hypothesis strategies for what a caller says about time (issue 22): dates in every
form validateDateTime reads, near both ends of time, times of day, calendars in zones
from UTC-12 to UTC+14, ``X-Flowhooks-Now`` headers, and ISO instants for the REST
routes' time parameters. An extreme date only overflows together with a time and a zone
on the wrong side of UTC, so the strategies lean on those ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# zone calendars the fuzzed app has, one per offset family, -12 ... +14
ZONES = {
    "zm12": "Etc/GMT+12",  # UTC-12 (the POSIX sign is inverted)
    "zm10": "Pacific/Honolulu",
    "zny": "America/New_York",  # DST
    "zutc": "UTC",
    "zin": "Asia/Kolkata",  # +05:30
    "znp": "Asia/Kathmandu",  # +05:45
    "zlh": "Australia/Lord_Howe",  # +10:30 / +11: a half-hour DST
    "zch": "Pacific/Chatham",  # +12:45 / +13:45
    "zp14": "Pacific/Kiritimati",  # UTC+14
}
# the forms validateDateTime reads, with two-digit years, ISO and ISO with an offset
EXTREME_DATES = [
    "0001-01-01", "01010001", "010101", "0101", "1-1-0001", "1/1/1", "1 January 0001",
    "January 1, 0001", "9999-12-31", "31129999", "31-12-9999", "31.12.99", "December 31, 9999",
    "9999-12-31T23:00:00-10:00", "9999-12-31T23:59:59-12:00", "9999-12-31T00:00:00+14:00",
    "0001-01-01T00:00:00+10:00", "0001-01-01T00:00:00+14:00", "0001-01-01T23:59:59-12:00",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00", "9999-12-31T23:59",
]  # fmt: skip
TIMES = ["01:00", "00:00", "23:59", "12 am", "11:59 pm", "9", "0930", "17:00:00", "24:00", ""]
EXTREME_CLOCKS = [
    "1971-01-01T00:00:00+14:00", "1971-01-01T00:00:00-12:00", "8999-12-31T23:59:59-12:00",
    "8999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+05:30", "9999-12-31T23:59:59-12:00",
    "1970-12-31T23:59:59Z", "9000-01-01T00:00:00Z", "not a time", "2026-11-23T12:00:00",
]  # fmt: skip
_ENDS = [
    (date(1, 1, 1), date(1, 1, 3)),
    (date(9999, 12, 29), date(9999, 12, 31)),
    (date(1970, 12, 30), date(1971, 1, 2)),
    (date(8999, 12, 30), date(9000, 1, 2)),
]


def offsets() -> st.SearchStrategy[timezone]:
    """-14:00 ... +14:00 in quarter hours (every real offset is one)."""
    return st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))


def days() -> st.SearchStrategy[date]:
    """Any day, mostly near the ends of time and of the clock's 1971-8999."""
    near_an_end = st.sampled_from(_ENDS).flatmap(lambda b: st.dates(b[0], b[1]))
    return st.one_of(near_an_end, near_an_end, st.dates())


def _moment(d: date, t: time, zone: timezone) -> str:
    return f"{d.isoformat()}T{t.isoformat(timespec='seconds')}{_offset(zone)}"


def _offset(zone: timezone) -> str:
    text = datetime(2000, 1, 1, tzinfo=zone).isoformat()[-6:]
    return "Z" if text == "+00:00" else text


def instants() -> st.SearchStrategy[str]:
    """ISO 8601 instants with an offset, on any day, mostly near the ends."""
    return st.builds(_moment, days(), st.times(), offsets())


def input_dates() -> st.SearchStrategy[str]:
    """What a caller may send as ``inputDate``: every form, on any day."""
    written = st.tuples(days(), st.sampled_from(["%d%m%Y", "%d-%m-%Y", "%Y-%m-%d", "%d/%m/%y"]))
    return st.one_of(
        st.sampled_from(EXTREME_DATES),
        written.map(lambda p: p[0].strftime(p[1]) if p[0].year >= 1000 else p[0].isoformat()),
        instants(),
        st.sampled_from(["today", "tomorrow", "monday", "8", "0812", "32-13-2019"]),
    )


def input_times() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(TIMES),
        st.times().map(lambda t: t.strftime("%H:%M")),
    )


def calendars() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(ZONES))


def clock_headers() -> st.SearchStrategy[str | None]:
    """No header, the clock's own extremes, out-of-range and malformed ones."""
    return st.one_of(st.none(), st.sampled_from(EXTREME_CLOCKS), instants())


def zone_calendars() -> dict[str, Any]:
    """``[calendars.NAME]`` tables for ``ZONES`` (raw TOML data), open wide and narrow."""
    tables: dict[str, Any] = {}
    for i, (name, zone) in enumerate(sorted(ZONES.items())):
        tables[name] = {
            "timezone": zone,
            "workdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][: 5 + i % 3],
            "hours": "00:00-24:00" if i % 2 else "09:00-18:00",
            "max_days_ahead": [0, 30, 3650][i % 3],
            "min_lead_minutes": [0, 90, 7 * 24 * 60][i % 3],
            "types": {"Callback": {"hours": "08:00-20:00"}} if i % 2 else {},
        }
    tables["zin"]["country"] = "IN"
    tables["zny"]["country"] = "US"
    return tables
