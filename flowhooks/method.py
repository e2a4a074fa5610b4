"""The handler contract, shared by ``methods/`` (which runs methods) and ``handlers/``.

A handler module holds ``METHOD`` (its name), ``Input`` and ``Output`` (``Keys``
models whose field names are the key names), optionally ``ERROR_KEYS``, and::

    async def handle(ctx: Context, keys: Input) -> Output | Mapping[str, object]

It returns its output; only the engine renders the wire answer. ``Context`` carries
the request's id and "now" and the app's typed resources, never the HTTP request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import ModuleType
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict

from flowhooks.calendar import Calendars
from flowhooks.clients import Clients
from flowhooks.envelope import Envelope
from flowhooks.errors import RegistryError
from flowhooks.integrations.nlu import Nlu
from flowhooks.integrations.translate import Translator
from flowhooks.limits import RequestLimits
from flowhooks.links.service import Links
from flowhooks.outbound.service import Outbound
from flowhooks.settings import BotSettings
from flowhooks.storage import Storage
from flowhooks.webhooks.service import Endpoints


class Keys(BaseModel):
    """Base of a handler's Input and Output: field names are the key names."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


@dataclass(frozen=True, slots=True)
class Resources:
    """The app's resources a handler may use; each is started and stopped by the app."""

    clients: Clients
    calendars: Calendars
    db: Storage
    outbound: Outbound
    http: aiohttp.ClientSession  # the process's one session for every outgoing call
    links: Links
    bots: Mapping[str, BotSettings] = field(default_factory=dict)  # [bots.ID]
    translator: Translator | None = None  # [translate] backend; None when none is chosen
    nlu: Nlu | None = None  # [nlu] backend; None when none is chosen
    limits: RequestLimits | None = None  # each client's max_requests_per_second
    webhooks: Endpoints | None = None  # the endpoints customers manage (issue 25)


@dataclass(slots=True)  # one per request: slotted, not frozen (4x cheaper to build)
class Context:
    """What a handler may use: the request's id, "now", its envelope, the resources."""

    request_id: str
    now: datetime
    envelope: Envelope
    method: str
    resources: Resources

    @property
    def clients(self) -> Clients:
        return self.resources.clients

    @property
    def calendars(self) -> Calendars:
        return self.resources.calendars

    @property
    def db(self) -> Storage:
        return self.resources.db

    @property
    def outbound(self) -> Outbound:
        return self.resources.outbound

    @property
    def http(self) -> aiohttp.ClientSession:
        return self.resources.http

    @property
    def links(self) -> Links:
        return self.resources.links

    @property
    def bots(self) -> Mapping[str, BotSettings]:
        return self.resources.bots

    @property
    def translator(self) -> Translator | None:
        return self.resources.translator

    @property
    def nlu(self) -> Nlu | None:
        return self.resources.nlu

    @property
    def webhooks(self) -> Endpoints | None:
        return self.resources.webhooks

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that stamps every line with the requestId and method."""
        return logging.LoggerAdapter(
            logging.getLogger(f"flowhooks.handlers.{self.method}"),
            {"fields": {"requestId": self.request_id, "method": self.method}},
        )


HandleFn = Callable[[Context, Any], Awaitable[BaseModel | Mapping[str, object]]]


@dataclass(frozen=True)
class Method:
    """One method: its name, key schemas, the coroutine that runs it, where it came from."""

    method: str
    input: type[Keys]
    output: type[Keys]
    handle: HandleFn
    source: str
    description: str = ""
    error_keys: Mapping[str, str] = field(default_factory=dict)  # also answered with a 422
    limited_keys: Mapping[str, str] = field(default_factory=dict)  # also answered with a 429

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

    @cached_property
    def output_names(self) -> frozenset[str]:
        """The names (and aliases) the Output declares."""
        names = set()
        for name, info in self.output.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
        return frozenset(names)

    @cached_property
    def output_prefixes(self) -> tuple[str, ...]:
        """Declared wildcard names (``$user.key.*``) as prefixes."""
        return tuple(n[:-1] for n in self.output_names if n.endswith("*"))

    def undeclared(self, names: Iterable[str]) -> list[str]:
        """Output keys a handler answered that its Output does not declare."""
        declared, prefixes = self.output_names, self.output_prefixes
        return [n for n in names if n not in declared and not n.startswith(prefixes)]

    @classmethod
    def from_module(cls, module: ModuleType, source: str | None = None) -> Method:
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
        limited_keys = dict(getattr(module, "RATE_LIMITED_KEYS", {}))
        return cls(
            method,
            input_,
            output,
            handle,
            source or module.__name__,
            doc.split("\n")[0],
            error_keys,
            limited_keys,
        )
