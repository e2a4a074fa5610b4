"""Backends found by name: the built-ins, then a Python entry-point group.

Every pluggable kind (dialers, provider callback formats, translators, NLU
backends) has one ``Backends`` registry. A third-party package adds one with::

    [project.entry-points."flowhooks.dialers"]
    mydialer = "my_package.my_dialer:BACKEND"

Entry points are read each time a registry is asked (only at config validation and
start-up, never per request), so a package installed later is seen by the next start.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from flowhooks.errors import RegistryError

T = TypeVar("T")


class BackendSettings(BaseModel):
    """Base of a backend's own settings (and of every config section): unknown keys are
    errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Backends(Generic[T]):
    """One kind of backend: ``name -> T`` from built-in modules and an entry-point group."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str], type_: type[T]) -> None:
        self.kind = kind  # "dialer", "provider format", ...
        self.group = group
        self._builtins = builtins  # name -> "module:attribute", imported when first asked
        self._type = type_

    def _entry_points(self) -> dict[str, str]:
        return {ep.name: ep.value for ep in entry_points(group=self.group)}

    def names(self) -> list[str]:
        return sorted({*self._builtins, *self._entry_points()})

    def known(self) -> str:
        return ", ".join(self.names()) or "none installed"

    def find(self, name: str) -> T | None:
        """The backend called ``name`` (a built-in wins over a plug-in), or None."""
        target = self._builtins.get(name) or self._entry_points().get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        try:
            found = getattr(import_module(module_name), attribute or "BACKEND")
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"cannot load the {self.kind} {name!r} ({target}): {exc}") from exc
        if not isinstance(found, self._type):
            raise RegistryError(f"{target} is not a {self._type.__name__}")
        return found

    def get(self, name: str) -> T:
        found = self.find(name)
        if found is None:
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {self.known()}")
        return found
