"""Providers' call-status payloads, parsed into one shape (SPEC 2.3).

* ``unifonic`` (seeds/003): ``callId``, ``referenceId``, ``status`` (COMPLETED, ...),
  ``duration``, ``recordingUrl``, ``failureReason``.
* ``voiceai`` (seeds/004): ``status``, ``call.status``, ``call.end_call_reason``,
  ``call.duration``, ``call.call_id``, ``lead.phone_number``.
* ``click2call`` (seeds/001): ``mid``, ``to``, ``status`` (ANSWER, ...), ``start_at``,
  ``end_at``, ``duration``, ``recording_url``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

END_CALL_REASONS = frozenset(
    {
        "voicemail",
        "human_goodbye",
        "agent_goodbye",
        "human_pick_up_cut_off",
        "max_duration",
        "undefined",
    }
)


class MalformedCallback(ValueError):
    pass


@dataclass(frozen=True)
class ProviderStatus:
    ids: tuple[str, ...]  # our call id or the provider's, in the order to try
    status: str
    end_call_reason: str | None = None
    duration: int | None = None
    recording_url: str | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    text = _text(value)
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _status(value: Any) -> str:
    text = _text(value)
    if text is None:
        raise MalformedCallback("no status")
    return text


def _ids(*values: Any) -> tuple[str, ...]:
    ids = tuple(t for t in (_text(v) for v in values) if t is not None)
    if not ids:
        raise MalformedCallback("no call id")
    return ids


def unifonic(doc: dict[str, Any]) -> ProviderStatus:
    reason = _text(doc.get("failureReason"))
    return ProviderStatus(
        ids=_ids(
            doc.get("referenceId"),
            doc.get("callId"),
            doc.get("callSid"),
            doc.get("uniqueCallId"),
            doc.get("externalCallsId"),
        ),
        status=_status(doc.get("status")),
        end_call_reason=reason,
        duration=_int(doc.get("duration")),
        recording_url=_text(doc.get("recordingUrl")),
    )


def voiceai(doc: dict[str, Any]) -> ProviderStatus:
    call = doc.get("call") if isinstance(doc.get("call"), dict) else {}
    assert isinstance(call, dict)
    reasons = [_text(call.get("end_call_reason")), _text(doc.get("error_message"))]
    reason = next((r for r in reasons if r in END_CALL_REASONS), reasons[0])
    return ProviderStatus(
        ids=_ids(doc.get("reference_id"), call.get("call_id"), doc.get("call_id")),
        status=_status(call.get("status") or doc.get("status")),
        end_call_reason=reason,
        duration=_int(call.get("duration")),
        recording_url=_text(call.get("recording_url")),
    )


def click2call(doc: dict[str, Any]) -> ProviderStatus:
    return ProviderStatus(
        ids=_ids(doc.get("mid"), doc.get("id"), doc.get("call_id")),
        status=_status(doc.get("status")),
        duration=_int(doc.get("duration")),
        recording_url=_text(doc.get("recording_url")),
    )


FORMATS: dict[str, Callable[[dict[str, Any]], ProviderStatus]] = {
    "unifonic": unifonic,
    "voiceai": voiceai,
    "click2call": click2call,
}


def parse(format_name: str, doc: Any) -> ProviderStatus:
    if not isinstance(doc, dict):
        raise MalformedCallback("the body must be a JSON object")
    return FORMATS[format_name](doc)
