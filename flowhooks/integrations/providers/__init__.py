"""Providers' call-status payloads (SPEC 2.3): one module per format, found by name.

``[providers.NAME] format`` names a format in ``PROVIDERS``: the built-ins
(``unifonic``, ``voiceai``, ``click2call``) and the ``flowhooks.providers``
entry-point group. A format module exports a ``ProviderFormat`` as ``BACKEND``: how
to read its payload and its own status words (beyond the common ones every
provider may send, ``flowhooks.outbound.model.COMMON_STATUS_WORDS``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowhooks.integrations.providers.fields import MalformedCallback, ProviderStatus
from flowhooks.outbound.model import CallState, provider_state
from flowhooks.plugins import Backends

__all__ = ["PROVIDERS", "MalformedCallback", "ProviderFormat", "ProviderStatus"]


@dataclass(frozen=True)
class ProviderFormat:
    name: str
    read: Callable[[dict[str, Any]], ProviderStatus]
    words: Mapping[str, CallState | None] = field(default_factory=dict)  # lower-case

    def parse(self, doc: Any) -> ProviderStatus:
        if not isinstance(doc, dict):
            raise MalformedCallback("the body must be a JSON object")
        return self.read(doc)

    def state_of(self, word: str) -> CallState | None:
        """The state a status word of this provider means; None when informational."""
        key = word.strip().lower()
        if key in self.words:
            return self.words[key]
        return provider_state(key)


PROVIDERS: Backends[ProviderFormat] = Backends(
    "provider format",
    "flowhooks.providers",
    {
        name: f"flowhooks.integrations.providers.{name}:BACKEND"
        for name in ("unifonic", "voiceai", "click2call")
    },
    ProviderFormat,
)
