"""The configured clients: lookup, bearer-token auth in constant time, their numbers."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from flowhooks import phones
from flowhooks.settings import ClientSettings


class Clients:
    """``[clients.*]`` of the config, as handlers and the REST routes use them."""

    def __init__(self, clients: Mapping[str, ClientSettings]) -> None:
        self._clients = dict(clients)
        self._tokens = [
            (name, c.api_token.get_secret_value().encode())
            for name, c in self._clients.items()
            if c.api_token is not None
        ]

    def get(self, name: str) -> ClientSettings | None:
        return self._clients.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._clients

    def for_token(self, token: str) -> str | None:
        """The client whose api_token this is (every token compared, in constant time)."""
        found = None
        offered = token.encode()
        for name, expected in self._tokens:
            if hmac.compare_digest(offered, expected):
                found = name
        return found

    def number(self, client: str, text: str) -> str:
        """E.164 of ``text`` read in the client's default region (NumberRefused if not)."""
        return phones.normalize(text, self._clients[client].default_region)
