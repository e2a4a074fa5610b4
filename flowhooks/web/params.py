"""The query parameters of the /api/v1 routes, read one way: every list route (reports,
deliveries, an agent's history, and the routes to come) takes its parameters from here.

* ``text_of(query, name)``: the value, or None when absent or empty (``?status=`` is no
  filter); at most ``max_chars`` (256), no control characters (NUL is no PostgreSQL text).
* ``limit_of(query, default=100)``: a page size, ASCII digits, 1 to ``MAX_LIMIT``.
* ``cursor_of(query)``: the ``nextCursor`` a previous page gave (ASCII digits, < 2^63).
* ``instant_of(query, name)``: a time, bounded like ``X-Flowhooks-Now``
  (``clock.parse_instant``: ISO 8601 with an offset, years 1971-8999, in UTC), so no
  caller's time reaches date arithmetic or a database bind at the ends of time. A '+'
  sent unescaped arrives as a space; a space before the offset is read as '+'.
* ``choice_of(query, name, allowed)``: one of ``allowed``, or None when absent.
* ``id_of(request, name)``: a path id this API hands out (a UUID, ``[A-Za-z0-9._-]``, at
  most 64 characters), or None when it cannot be one: the route answers its 404 without
  asking the database (a NUL in an id was a 500 on PostgreSQL).

Each raises ``BadParameter(name, message)``; the web edge answers it 400
``{"error": {"code": "BAD_PARAMETER", "message": "<name>: <message>", "parameter":
"<name>", "requestId"}}`` (``edge.Observer.failed``), so a route only reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from aiohttp import web

from flowhooks.clock import EARLIEST_YEAR, LATEST_YEAR, parse_instant
from flowhooks.texts import has_control

MAX_LIMIT = 1000
MAX_TEXT_CHARS = 256
MAX_CURSOR = 2**63 - 1  # a row's seq, a BIGINT: a larger number cannot be bound to SQL
_SPACED_OFFSET = re.compile(r" (\d{2}(?::?\d{2})?)$")  # "...10:00:00 05:30": a '+' lost
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

Query = Mapping[str, str]


class BadParameter(Exception):
    """A query parameter that is malformed; ``name`` is the parameter."""

    code = "BAD_PARAMETER"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.detail = message  # without the name, for a command line's own option names
        self.message = f"{name}: {message}"


def text_of(query: Query, name: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    if len(text) > max_chars:
        raise BadParameter(name, f"longer than {max_chars} characters")
    if has_control(text):
        raise BadParameter(name, "holds a control character")
    return text


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def limit_of(query: Query, default: int = 100) -> int:
    text = text_of(query, "limit")
    if text is None:
        return default
    if not _digits(text) or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise BadParameter("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def cursor_of(query: Query, name: str = "cursor", giver: str = "this API") -> int | None:
    text = text_of(query, name)
    if text is None:
        return None
    if not _digits(text) or len(text) > 19 or int(text) > MAX_CURSOR:
        raise BadParameter(name, f"is not a cursor {giver} gave out")
    return int(text)


def instant_of(query: Query, name: str) -> datetime | None:
    text = text_of(query, name)
    if text is None:
        return None
    try:
        return parse_instant(_SPACED_OFFSET.sub(r"+\1", text))
    except ValueError as exc:
        raise BadParameter(
            name,
            f"{exc}; an ISO 8601 instant with an offset, years {EARLIEST_YEAR}-{LATEST_YEAR}",
        ) from None


def choice_of(query: Query, name: str, allowed: Iterable[str]) -> str | None:
    text = text_of(query, name)
    options = tuple(allowed)
    if text is not None and text not in options:
        raise BadParameter(name, f"must be one of {', '.join(options)}")
    return text


def id_of(request: web.Request, name: str) -> str | None:
    text = request.match_info[name]
    return text if _ID.fullmatch(text) else None
