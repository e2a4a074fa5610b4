"""Who is signed in to the console: signed session cookies, CSRF tokens, sign-in checks.

A session is a cookie signed (itsdangerous, HMAC-SHA256) with ``[security]
secret_key``, carrying the client whose console it is (or that it is the
operator's, and the client the operator looks at), a CSRF token, and when it was
signed: it is refused after ``[console] session_hours``. Nothing is kept on the
server, so every process with the same key accepts it; logging out deletes the
cookie (a copy kept elsewhere stays valid until it expires or the key changes).

Without ``secret_key`` each process signs with a random key of its own (a warning
at start): sessions end at a restart, and with ``[server] processes`` > 1 sign-in
is refused, since each worker process would refuse the others' cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from aiohttp import web
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from flowhooks.clock import Clock
from flowhooks.settings import Settings

COOKIE = "flowhooks_console"
SALT = "flowhooks.console.session"
SIGNIN_WINDOW = timedelta(minutes=1)
SIGNIN_FAILURES = 5  # failed sign-ins an address may make in the window, then 429


@dataclass(frozen=True)
class Session:
    """A browser's session: anonymous (only a CSRF token, for the sign-in form), a
    client's, or the operator's (``client`` is then the client being looked at)."""

    csrf: str
    client: str | None = None
    operator: bool = False

    @property
    def signed_in(self) -> bool:
        return self.operator or self.client is not None

    def as_client(self, client: str) -> Session:
        return replace(self, client=client)


def _clock_signer(clock: Clock) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        """Timestamps from the app's clock (tests pin it), not the machine's."""

        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockSigner


class Sessions:
    """Reads and writes the session cookie of one app."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        key = settings.security.secret_key
        self.shared_key = key is not None
        secret = key.get_secret_value() if key is not None else secrets.token_hex(32)
        self.max_age = int(settings.console.session_hours * 3600)
        self.https = settings.server.public_base_url.startswith("https:")
        # several worker processes could not read each other's cookies: refuse to sign in
        self.refuses = not self.shared_key and settings.server.processes > 1
        self._serializer = URLSafeTimedSerializer(
            secret,
            salt=SALT,
            signer=_clock_signer(clock),
            signer_kwargs={"digest_method": hashlib.sha256},
        )

    def read(self, request: web.Request) -> Session | None:
        """The request's session, or None (none, forged, expired or malformed)."""
        return self.read_value(request.cookies.get(COOKIE))

    def read_value(self, cookie: str | None) -> Session | None:
        """The session a cookie's value holds, or None."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("x"), str):
            return None
        client = data.get("c")
        return Session(
            csrf=data["x"],
            client=client if isinstance(client, str) else None,
            operator=data.get("o") is True,
        )

    def write(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        value = self._serializer.dumps(
            {"x": session.csrf, "c": session.client, "o": session.operator}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.max_age,
            path="/console",
            httponly=True,
            samesite="Strict",
            secure=self.https or request.secure,
        )

    def clear(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/console")


def new_session(client: str | None = None, operator: bool = False) -> Session:
    """A session with a fresh CSRF token (a sign-in always gets a new one)."""
    return Session(csrf=secrets.token_urlsafe(32), client=client, operator=operator)


def csrf_ok(session: Session | None, sent: object) -> bool:
    if session is None or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(sent.encode(), session.csrf.encode())


def is_admin_token(settings: Settings, token: str) -> bool:
    admin = settings.console.admin_token
    if admin is None or not token:
        return False
    return hmac.compare_digest(token.encode(), admin.get_secret_value().encode())


def address_of(request: web.Request) -> str:
    """The address sign-in failures are counted for: the peer's (behind a proxy, the
    proxy's, which then limits everyone it forwards together)."""
    return request.remote or "unknown"
