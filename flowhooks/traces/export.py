"""Traces as SPEC 5 replay cases: pure, no I/O.

A case's ``now`` is the trace's time and its ``request`` the envelope as sent (secrets
stay ``"***"``: the replay harness fills them). ``expect`` is the recorded HTTP status,
status and answer keys; a value that depends on the moment it was made (an id, a UUID,
a URL, the requestId) is ``"*"``: present, any value.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from flowhooks.traces.record import CUT

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ANY = "*"


def varies(value: str, request_id: str) -> bool:
    """Whether an answer value was made for that moment (or was cut when recorded)."""
    return (
        UUID.search(value) is not None
        or "://" in value
        or (bool(request_id) and request_id in value)
        or CUT.search(value) is not None
    )


def expected_keys(answer: list[Any], request_id: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in answer:
        value = item.get("value")
        text = value if isinstance(value, str) else "" if value is None else str(value)
        out[str(item.get("name"))] = ANY if varies(text, request_id) else text
    return out


def case_of(trace: dict[str, Any]) -> dict[str, Any] | None:
    """The replay case of a stored trace; None when its body was not an envelope."""
    if trace.get("request") is None:
        return None
    request = orjson.loads(trace["request"])
    at: datetime = trace["at"]
    when = at.isoformat()
    case: dict[str, Any] = {
        "name": f"{trace['method']} {trace.get('cli') or '-'} {when}",
        "now": when,
        "request": request,
        "expect": {
            "http": trace["http_status"],
            "status": trace["status"],
            "keys": expected_keys(orjson.loads(trace["answer"]), trace["request_id"]),
        },
        "trace": {"requestId": trace["request_id"], "client": trace["client"]},
    }
    cut = [k["name"] for k in request.get("keys", []) if _is_cut(k.get("value"))]
    if cut:
        case["skip"] = f"the value of {', '.join(cut)} was cut when recorded (max_value_chars)"
    return case


def _is_cut(value: Any) -> bool:
    return isinstance(value, str) and CUT.search(value) is not None
