"""``unifonic`` (seeds/003): ``callId``, ``referenceId``, ``status`` (COMPLETED, ...),
``duration``, ``recordingUrl``, ``failureReason``."""

from __future__ import annotations

from typing import Any

from flowhooks.integrations.providers import ProviderFormat
from flowhooks.integrations.providers.fields import ProviderStatus, ids, integer, status_word, text
from flowhooks.outbound.model import CallState


def read(doc: dict[str, Any]) -> ProviderStatus:
    return ProviderStatus(
        ids=ids(
            doc.get("referenceId"),
            doc.get("callId"),
            doc.get("callSid"),
            doc.get("uniqueCallId"),
            doc.get("externalCallsId"),
        ),
        status=status_word(doc.get("status")),
        end_call_reason=text(doc.get("failureReason")),
        duration=integer(doc.get("duration")),
        recording_url=text(doc.get("recordingUrl")),
    )


WORDS = {"noanswer": CallState.NO_ANSWER, "in-progress": CallState.INITIATED, "queued": None}
BACKEND = ProviderFormat("unifonic", read, WORDS)
