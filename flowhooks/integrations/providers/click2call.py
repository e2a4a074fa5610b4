"""``click2call`` (seeds/001): ``mid``, ``to``, ``status`` (ANSWER, ...), ``start_at``,
``end_at``, ``duration``, ``recording_url``."""

from __future__ import annotations

from typing import Any

from flowhooks.integrations.providers import ProviderFormat
from flowhooks.integrations.providers.fields import ProviderStatus, ids, integer, status_word, text
from flowhooks.outbound.model import CallState


def read(doc: dict[str, Any]) -> ProviderStatus:
    return ProviderStatus(
        ids=ids(doc.get("mid"), doc.get("id"), doc.get("call_id")),
        status=status_word(doc.get("status")),
        duration=integer(doc.get("duration")),
        recording_url=text(doc.get("recording_url")),
    )


WORDS = {"answer": CallState.COMPLETED, "noanswer": CallState.NO_ANSWER}
BACKEND = ProviderFormat("click2call", read, WORDS)
