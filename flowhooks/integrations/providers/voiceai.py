"""``voiceai`` (seeds/004): ``status``, ``call.status``, ``call.end_call_reason``,
``call.duration``, ``call.call_id``, ``lead.phone_number``."""

from __future__ import annotations

from typing import Any

from flowhooks.integrations.providers import ProviderFormat
from flowhooks.integrations.providers.fields import ProviderStatus, ids, integer, status_word, text
from flowhooks.outbound.model import CallState

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


def read(doc: dict[str, Any]) -> ProviderStatus:
    call = doc.get("call") if isinstance(doc.get("call"), dict) else {}
    assert isinstance(call, dict)
    reasons = [text(call.get("end_call_reason")), text(doc.get("error_message"))]
    reason = next((r for r in reasons if r in END_CALL_REASONS), reasons[0])
    return ProviderStatus(
        ids=ids(doc.get("reference_id"), call.get("call_id"), doc.get("call_id")),
        status=status_word(call.get("status") or doc.get("status")),
        end_call_reason=reason,
        duration=integer(call.get("duration")),
        recording_url=text(call.get("recording_url")),
    )


WORDS = {
    "answering": CallState.INITIATED,
    "hangup_on_voicemail": CallState.HANGUP_ON_VOICEMAIL,
    "paused": None,
}
BACKEND = ProviderFormat("voiceai", read, WORDS)
