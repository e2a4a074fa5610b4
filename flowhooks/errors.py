"""The exception tree of flowhooks.

    FlowhooksError
    ├── ConfigError              config file unreadable or invalid (every problem, with TOML path)
    ├── RegistryError            duplicate method name, or registering after the freeze
    ├── EnvelopeError            the envelope cannot be run: answered 4xx in the envelope shape
    │   ├── BadEnvelope          400 BAD_ENVELOPE: not JSON, wrong shape, bad header
    │   ├── Unauthorized         401 UNAUTHORIZED: missing or wrong bearer token
    │   ├── UnknownMethod        404 UNKNOWN_METHOD: lists the known methods
    │   ├── TooLarge             413 TOO_LARGE: body over max_body_bytes
    │   ├── UnsupportedMediaType 415 UNSUPPORTED_MEDIA_TYPE: not application/json
    │   ├── InvalidKeys          422 INVALID_KEYS: details name each missing or malformed key
    │   └── RateLimited          429 RATE_LIMITED
    └── HandlerFailed            the handler ran but could not do its job: HTTP 200, status FAILED
        └── StorageUnavailable   the database cannot be reached (STORAGE_UNAVAILABLE)

Domain code raises these; the engine (methods/engine.py) and the web edge (web/edge.py)
turn them into answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class FlowhooksError(Exception):
    """Base of every error flowhooks raises on purpose."""


class ConfigError(FlowhooksError):
    """The config is unusable; ``problems`` holds one ``path: message`` line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid config:\n  " + "\n  ".join(self.problems))


class RegistryError(FlowhooksError):
    """A method could not be registered."""


@dataclass(frozen=True)
class KeyProblem:
    """One missing or malformed key of an envelope."""

    key: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "message": self.message}


class EnvelopeError(FlowhooksError):
    """An envelope the service cannot run; answered with ``http_status`` and ``code``."""

    http_status = 400
    code = "BAD_ENVELOPE"

    def __init__(self, message: str, details: Sequence[KeyProblem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class BadEnvelope(EnvelopeError):
    http_status = 400
    code = "BAD_ENVELOPE"


class Unauthorized(EnvelopeError):
    http_status = 401
    code = "UNAUTHORIZED"


class Forbidden(EnvelopeError):
    http_status = 403
    code = "FORBIDDEN"


class UnknownMethod(EnvelopeError):
    http_status = 404
    code = "UNKNOWN_METHOD"


class TooLarge(EnvelopeError):
    http_status = 413
    code = "TOO_LARGE"


class UnsupportedMediaType(EnvelopeError):
    http_status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class InvalidKeys(EnvelopeError):
    http_status = 422
    code = "INVALID_KEYS"

    def __init__(self, details: Sequence[KeyProblem]) -> None:
        text = "; ".join(f"{p.key}: {p.message}" for p in details)
        super().__init__(f"invalid keys: {text}", details)


class RateLimited(EnvelopeError):
    http_status = 429
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds, the answer's Retry-After


class InvalidBody(FlowhooksError):
    """A REST body value no field takes (a control character, too long): 422 INVALID_BODY."""

    code = "INVALID_BODY"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BodyTimeout(FlowhooksError):
    """The body did not arrive within ``[server] body_timeout_seconds``: 408 TIMEOUT."""

    code = "TIMEOUT"

    def __init__(self, seconds: float) -> None:
        self.message = f"the body did not arrive within {seconds:g} seconds"
        super().__init__(self.message)


class HandlerFailed(FlowhooksError):
    """The handler ran but could not do its job; the flow takes its failure branch.

    ``keys`` are extra output keys (bare names) answered alongside the error.
    """

    def __init__(self, code: str, message: str, keys: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.keys = dict(keys or {})


class StorageUnavailable(HandlerFailed):
    """The database cannot be reached; nothing was stored, the flow takes its failure branch."""

    def __init__(self, message: str) -> None:
        super().__init__("STORAGE_UNAVAILABLE", message)
