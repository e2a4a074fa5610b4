"""What a link may point at, and the personalised URL of a chat bot (SPEC 2.8)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

from flowhooks.redact import is_secret

MAX_URL_CHARS = 2048
MAX_EXPIRE_DAYS = 3650


def check_long_url(text: str) -> str:
    """``text`` when it may be shortened, else ValueError saying what is wrong."""
    url = text.strip()
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"must be at most {MAX_URL_CHARS} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValueError("is not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password (user@host)")
    return url


def expire_days(text: str | None) -> int | None:
    """``expireDays`` as sent: a whole number of days, 1 to 3650 (ValueError if not)."""
    if text is None:
        return None
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()) or not (
        1 <= int(stripped) <= MAX_EXPIRE_DAYS
    ):
        raise ValueError(f"must be a whole number of days from 1 to {MAX_EXPIRE_DAYS}")
    return int(stripped)


def _pair(name: str, value: str) -> str:
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def bot_url(base: str, keys: Iterable[tuple[str, str]], cli: str, botid: str, uid: str) -> str:
    """The bot's ``url`` (its own query kept, first and unchanged), then every flow key that
    is not a secret and does not repeat a name of the bot's query or ours, then ``cli``,
    ``botid`` and ``uid``; every name and value percent-encoded."""
    parts = urlsplit(base)
    own = [p for p in parts.query.split("&") if p]
    taken = {p.split("=", 1)[0].lower() for p in own} | {"cli", "botid", "uid"}
    added = []
    for name, value in keys:
        if is_secret(name) or name.lower() in taken:
            continue
        taken.add(name.lower())
        added.append(_pair(name, value))
    added += [_pair("cli", cli), _pair("botid", botid), _pair("uid", uid)]
    query = "&".join([*own, *added])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
