"""Request ids: the caller's ``X-Request-Id`` when it is sane, else a fresh one."""

from __future__ import annotations

import itertools
import os
import re

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ID_PREFIX = os.urandom(6).hex()  # unique per process; a counter makes each id unique in it
_ID_COUNTER = itertools.count(1)


def new_request_id(offered: str | None = None) -> str:
    """The caller's X-Request-Id when it is sane, else a fresh one (cheap, unique)."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"
