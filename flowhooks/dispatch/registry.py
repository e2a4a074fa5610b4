"""The method registry: method name -> Handler, validated on register, frozen at start.

Like aiohttp's router: a read-only mapping; a duplicate name (case-insensitive)
raises quoting who already holds it; a failed lookup is a value (None), which
the engine turns into 404 UNKNOWN_METHOD.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict

from flowhooks.envelope import Envelope, Rendered
from flowhooks.errors import RegistryError
from flowhooks.services import Services
from flowhooks.settings import Settings


class Keys(BaseModel):
    """Base of a handler's Input and Output: field names are the key names."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


@dataclass(slots=True)  # one per request: slotted, not frozen (4x cheaper to build)
class Context:
    """What a handler may use: never the HTTP request itself."""

    request_id: str
    now: datetime
    settings: Settings
    services: Services
    envelope: Envelope
    method: str = ""

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that stamps every line with the requestId and method."""
        return logging.LoggerAdapter(
            logging.getLogger(f"flowhooks.handlers.{self.method}"),
            {"fields": {"requestId": self.request_id, "method": self.method}},
        )


HandleFn = Callable[[Context, Any], Awaitable[BaseModel | Mapping[str, object] | Rendered]]


@dataclass(frozen=True)
class Handler:
    """One method: its name, key schemas, the coroutine that runs it, where it came from."""

    method: str
    input: type[Keys]
    output: type[Keys]
    handle: HandleFn
    source: str
    description: str = ""
    error_keys: Mapping[str, str] = field(default_factory=dict)  # also answered with a 422

    @cached_property
    def lookup_plan(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(field, lower-case key names to try) for each Input field, computed once."""
        plan = []
        for name, info in self.input.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            aliases = extra.get("aliases", [])
            names = (name, *(aliases if isinstance(aliases, list) else []))
            plan.append((name, tuple(str(n).lower() for n in names)))
        return tuple(plan)

    @classmethod
    def from_module(cls, module: ModuleType, source: str | None = None) -> Handler:
        """A handler module holds METHOD, Input, Output and ``async def handle``."""
        try:
            method, input_, output, handle = (
                module.METHOD,
                module.Input,
                module.Output,
                module.handle,
            )
        except AttributeError as exc:
            raise RegistryError(f"{module.__name__} is not a handler module: {exc}") from None
        if not inspect.iscoroutinefunction(handle):
            raise RegistryError(f"{module.__name__}.handle must be 'async def'")
        doc = inspect.getdoc(module) or ""
        error_keys = dict(getattr(module, "ERROR_KEYS", {}))
        return cls(
            method,
            input_,
            output,
            handle,
            source or module.__name__,
            doc.split("\n")[0],
            error_keys,
        )


class MethodRegistry(Mapping[str, Handler]):
    """Case-insensitive method name -> Handler."""

    def __init__(self) -> None:
        self._by_key: dict[str, Handler] = {}
        self._frozen = False

    def register(self, handler: Handler) -> None:
        if self._frozen:
            raise RegistryError(f"cannot register {handler.method!r}: the registry is frozen")
        key = handler.method.lower()
        held = self._by_key.get(key)
        if held is not None:
            raise RegistryError(
                f"method {handler.method!r} from {handler.source} is already registered"
                f" by {held.source}"
            )
        self._by_key[key] = handler

    def freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def lookup(self, method: str) -> Handler | None:
        return self._by_key.get(method.lower())

    def names(self) -> list[str]:
        return sorted((h.method for h in self._by_key.values()), key=str.lower)

    def __getitem__(self, method: str) -> Handler:
        return self._by_key[method.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._by_key)
