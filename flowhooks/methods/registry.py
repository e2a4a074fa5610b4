"""The method registry: method name -> Method, validated on register, frozen at start.

Like aiohttp's router: a read-only mapping; a duplicate name (case-insensitive)
raises quoting who already holds it; a failed lookup is a value (None), which
the engine turns into 404 UNKNOWN_METHOD.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from flowhooks.errors import RegistryError
from flowhooks.method import Method


class MethodRegistry(Mapping[str, Method]):
    """Case-insensitive method name -> Method."""

    def __init__(self) -> None:
        self._by_key: dict[str, Method] = {}
        self._frozen = False

    def register(self, method: Method) -> None:
        if self._frozen:
            raise RegistryError(f"cannot register {method.method!r}: the registry is frozen")
        key = method.method.lower()
        held = self._by_key.get(key)
        if held is not None:
            raise RegistryError(
                f"method {method.method!r} from {method.source} is already registered"
                f" by {held.source}"
            )
        self._by_key[key] = method

    def freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def lookup(self, method: str) -> Method | None:
        return self._by_key.get(method.lower())

    def names(self) -> list[str]:
        return sorted((h.method for h in self._by_key.values()), key=str.lower)

    def __getitem__(self, method: str) -> Method:
        return self._by_key[method.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._by_key)
