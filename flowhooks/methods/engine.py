"""The envelope engine: raw request in, Answer out; no aiohttp in here.

The HTTP view and the in-process replay harness both call ``Engine.answer``, so
a replayed case runs exactly what a flow's request runs.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pydantic import BaseModel, ValidationError

from flowhooks import envelope
from flowhooks.clients import Clients
from flowhooks.clock import Clock, parse_now_header
from flowhooks.errors import (
    BadEnvelope,
    EnvelopeError,
    Forbidden,
    HandlerFailed,
    InvalidKeys,
    KeyProblem,
    RateLimited,
    TooLarge,
    Unauthorized,
    UnknownMethod,
    UnsupportedMediaType,
)
from flowhooks.method import Context, Keys, Method, Resources
from flowhooks.methods.registry import MethodRegistry
from flowhooks.request_ids import new_request_id
from flowhooks.settings import Settings

log = logging.getLogger("flowhooks.engine")
JSON_TYPES = ("application/json",)
CLIENT_KEY = "clientid"  # the bare name every method reads its client from


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 4x on the hot path
class RawRequest:
    """What the engine needs of an HTTP request."""

    body: bytes
    content_type: str = "application/json"
    authorization: str | None = None
    now_header: str | None = None
    request_id: str = ""


@dataclass(slots=True)
class Outcome:
    """The answer plus what the access log and metrics record."""

    answer: envelope.Answer
    method: str  # canonical name when known, else "unknown"
    error_code: str = ""
    env: envelope.Envelope | None = None  # the parsed request, when it parsed (traces)
    now: datetime | None = None  # "now" as the handler saw it, once known (traces)


@lru_cache(maxsize=64)
def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def build_input(handler: Method, env: envelope.Envelope) -> Keys:
    """Fill the handler's Input from the envelope; an empty value counts as absent."""
    data: dict[str, str] = {}
    keys = env.keys
    for name, candidates in handler.lookup_plan:
        for candidate in candidates:
            value = keys.get(candidate)
            if value and not value.isspace():
                data[name] = value
                break
    try:
        return handler.input.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "keys"
            msg = "is required" if err["type"] == "missing" else str(err["msg"])
            problems.append(KeyProblem(key, msg.removeprefix("Value error, ")))
        raise InvalidKeys(problems) from None


def _act_as(env: envelope.Envelope, client: str) -> None:
    """A flow token's client fills ``clientID`` when absent; naming another is a 403."""
    sent = env.keys.get(CLIENT_KEY)
    if sent is None or not sent.strip():
        env.keys = {**env.keys, CLIENT_KEY: client}
    elif sent.strip() != client:
        raise Forbidden("this flow token belongs to another client than clientID names")


class Engine:
    """Runs envelopes against the registry with the app's settings, clock and resources."""

    def __init__(
        self, registry: MethodRegistry, settings: Settings, clock: Clock, clients: Clients
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.resources: Resources | None = None  # bound once the app's resources started
        token = settings.server.token
        self._token = token.get_secret_value().encode() if token else None
        self._clients = clients
        self._require_flow_token = settings.server.require_flow_token
        self._open = self._token is None and not self._clients.has_flow_tokens
        self._override = settings.testing.allow_clock_override
        self._limit = settings.server.max_body_bytes

    def _acting_client(self, authorization: str | None) -> str | None:
        """The client a flow token names; None for the shared token or an open service.

        A client's ``flow_token`` acts as that client; ``[server] token`` is shared by
        all; with ``require_flow_token`` only a flow token will do. A bearer token that
        matches none is a 401 whenever any token is configured.
        """
        scheme, _, offered = (authorization or "").partition(" ")
        offered = offered.strip() if scheme.lower() == "bearer" else ""
        client = self._clients.for_flow_token(offered) if offered else None
        if client is not None:
            return client
        if self._require_flow_token:
            raise Unauthorized("a client's flow_token is required as Bearer token")
        if self._token is None:
            if offered:
                raise Unauthorized("unknown bearer token")
            return None
        if not hmac.compare_digest(offered.encode(), self._token):
            raise Unauthorized("missing or wrong bearer token")
        return None

    def _now(self, header: str | None) -> datetime:
        if header is None or not self._override:
            return self.clock.now()
        try:
            return parse_now_header(header)
        except ValueError as exc:
            raise BadEnvelope(
                f"header X-Flowhooks-Now is not ISO 8601 with offset: {exc}"
            ) from None

    async def _within_rate(self, env: envelope.Envelope) -> None:
        """A client the envelope names (clientID, or its flow token) within its
        ``max_requests_per_second``, counted across every process."""
        limits = self.resources.limits if self.resources is not None else None
        named = env.keys.get(CLIENT_KEY)
        if limits is None or not named:
            return
        wait = await limits.check(named.strip())
        if wait is not None:
            raise RateLimited(
                f"client over its max_requests_per_second; retry in {wait} s", retry_after=wait
            )

    def check(self, req: RawRequest) -> str | None:
        """Checks that need no parsing: token, media type, size; the acting client."""
        acting = None if self._open else self._acting_client(req.authorization)
        if not _is_json(req.content_type):
            raise UnsupportedMediaType("Content-Type must be application/json")
        if len(req.body) > self._limit:
            raise TooLarge(f"body is larger than {self._limit} bytes")
        return acting

    async def answer(self, req: RawRequest) -> Outcome:
        request_id = req.request_id or new_request_id()
        method_name = "unknown"
        sent_method = ""
        env: envelope.Envelope | None = None
        now: datetime | None = None
        try:
            acting = self.check(req)
            env = envelope.parse(req.body)
            sent_method = env.method
            now = self._now(req.now_header)
            handler = self.registry.lookup(env.method)
            if handler is None:
                known = ", ".join(self.registry.names())
                raise UnknownMethod(f"unknown method {env.method!r}; known methods: {known}")
            method_name = handler.method
            if acting is not None:
                _act_as(env, acting)
            try:
                await self._within_rate(env)
                if env.problems:
                    raise InvalidKeys(env.problems)
                inp = build_input(handler, env)
                assert self.resources is not None, "the app's resources are not started"
                ctx = Context(request_id, now, env, method_name, self.resources)
                result = await handler.handle(ctx, inp)
            except InvalidKeys as exc:
                answer = envelope.envelope_error(sent_method, request_id, exc, handler.error_keys)
                return Outcome(answer, method_name, exc.code, env, now)
            except RateLimited as exc:
                answer = envelope.envelope_error(sent_method, request_id, exc, handler.limited_keys)
                answer.headers = {"Retry-After": str(exc.retry_after)}
                return Outcome(answer, method_name, exc.code, env, now)
            except HandlerFailed as exc:
                failed = envelope.handler_failed(method_name, request_id, exc)
                return Outcome(failed, method_name, "", env, now)
            if isinstance(result, BaseModel):
                result = dict(result)
            elif not result.keys() <= handler.output_names and handler.undeclared(result):
                raise TypeError(f"{method_name} answered keys its Output does not declare")
            answer = envelope.success(method_name, request_id, result)
            return Outcome(answer, method_name, "", env, now)
        except EnvelopeError as exc:
            answer = envelope.envelope_error(sent_method, request_id, exc)
            return Outcome(answer, method_name, exc.code, env, now)
        except Exception:
            log.exception("handler crashed", extra={"fields": {"requestId": request_id}})
            answer = envelope.error(
                sent_method, request_id, 500, "INTERNAL", f"internal error; requestId {request_id}"
            )
            return Outcome(answer, method_name, "INTERNAL", env, now)
