"""/console/calendars: a business calendar's month (holidays with their names,
non-working days, each day's opening hours) and, for the calendar and each of its
types, the next 5 slots validateDateTime would offer from now; switching calendar,
type and month.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from flowhooks.calendar.month import month_days, next_slots
from flowhooks.calendar.windows import WEEKDAY_NAMES, Window
from flowhooks.console.pages import page, render
from flowhooks.web import keys as appkeys
from flowhooks.web.params import BadParameter

NAV = ("/console/calendars", "Calendars")
SLOTS = 5


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def window_text(window: Window | None) -> str:
    return "" if window is None else f"{_hhmm(window.open)}-{_hhmm(window.close)}"


def _month(text: str | None, today: date) -> tuple[int, int]:
    if not text:
        return today.year, today.month
    year, sep, month = text.partition("-")
    if not (
        sep and year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12
    ):
        raise BadParameter("month", "must be YYYY-MM, e.g. 2026-12")
    if not 1971 <= int(year) <= 8999:
        raise BadParameter("month", "must be a year from 1971 to 8999")
    return int(year), int(month)


def _shift(year: int, month: int, by: int) -> str:
    n = year * 12 + (month - 1) + by
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


@page
async def show(request: web.Request) -> web.StreamResponse:
    app = request.app
    calendars = app[appkeys.CALENDARS]
    q = request.query
    name = q.get("calendar") or "default"
    cal = calendars.get(name)
    if cal is None:
        raise BadParameter("calendar", f"must be one of {', '.join(sorted(calendars))}")
    kind = q.get("type") or None
    if kind is not None and kind not in cal.types:
        raise BadParameter("type", f"{name} has no type {kind!r}")
    now = app[appkeys.CLOCK].now()
    today = now.astimezone(cal.timezone).date()
    year, month = _month(q.get("month"), today)
    days = month_days(cal, year, month, kind)
    cells: list[dict[str, Any] | None] = [None] * days[0].day.weekday()
    for d in days:
        cells.append(
            {
                "n": d.day.day,
                "date": d.day.isoformat(),
                "working": d.working,
                "holiday": d.holiday,
                "window": window_text(d.window),
                "today": d.day == today,
            }
        )
    slots = [
        {"type": t or "(default)", "slots": next_slots(cal, now, SLOTS, t)}
        for t in (None, *sorted(cal.types))
    ]
    base = {"calendar": name, **({"type": kind} if kind else {})}
    context = {
        "title": f"Calendar {name}",
        "calendars": sorted(calendars),
        "name": name,
        "cal": cal,
        "types": sorted(cal.types),
        "kind": kind or "",
        "month_label": date(year, month, 1).strftime("%B %Y"),
        "month_value": f"{year:04d}-{month:02d}",
        "previous": "/console/calendars?" + urlencode({**base, "month": _shift(year, month, -1)}),
        "next": "/console/calendars?" + urlencode({**base, "month": _shift(year, month, 1)}),
        "cells": cells,
        "weekdays": [n[:3] for n in WEEKDAY_NAMES],
        "holidays": [d for d in days if d.holiday],
        "slots": slots,
        "zone": cal.timezone,
        "workdays": [WEEKDAY_NAMES[i][:3] for i in sorted(cal.workdays)],
        "hours": window_text(cal.hours),
    }
    return render(request, "calendars.html", context)


ROUTES = [("GET", "/console/calendars", show)]
