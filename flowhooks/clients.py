"""The configured clients: lookup, bearer-token auth in constant time, their numbers."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from flowhooks import phones
from flowhooks.settings import ClientSettings


def _tokens(secrets: Mapping[str, SecretStr | None]) -> list[tuple[str, bytes]]:
    return [(n, s.get_secret_value().encode()) for n, s in secrets.items() if s is not None]


def _match(tokens: list[tuple[str, bytes]], token: str) -> str | None:
    """The owner of ``token``: every token compared, in constant time."""
    found = None
    if not token:
        return None
    offered = token.encode()
    for name, expected in tokens:
        if hmac.compare_digest(offered, expected):
            found = name
    return found


class Clients:
    """``[clients.*]`` of the config, as handlers and the REST routes use them."""

    def __init__(self, clients: Mapping[str, ClientSettings]) -> None:
        self._clients = dict(clients)
        self._api_tokens = _tokens({n: c.api_token for n, c in self._clients.items()})
        self._cust_tokens = _tokens({n: c.cust_token for n, c in self._clients.items()})
        self._flow_tokens = _tokens({n: c.flow_token for n, c in self._clients.items()})

    @property
    def has_flow_tokens(self) -> bool:
        return bool(self._flow_tokens)

    def get(self, name: str) -> ClientSettings | None:
        return self._clients.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._clients

    def for_token(self, token: str) -> str | None:
        """The client whose api_token this is (bearer token of /api/v1)."""
        return _match(self._api_tokens, token)

    def for_flow_token(self, token: str) -> str | None:
        """The client whose flow_token this is (bearer token of an envelope)."""
        return _match(self._flow_tokens, token)

    def for_cust_token(self, token: str) -> str | None:
        """The client whose cust_token this is (shortURL)."""
        return _match(self._cust_tokens, token)

    def number(self, client: str, text: str) -> str:
        """E.164 of ``text`` read in the client's default region (NumberRefused if not)."""
        return phones.normalize(text, self._clients[client].default_region)
