"""Builds the registry: the built-in handlers, then plug-ins of the entry-point group.

A plug-in package declares, in its pyproject::

    [project.entry-points."flowhooks.handlers"]
    myMethod = "my_package.my_handler"      # a handler module (METHOD, Input, Output, handle)
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from types import ModuleType

from flowhooks.errors import RegistryError
from flowhooks.method import Method
from flowhooks.methods.registry import MethodRegistry

ENTRY_POINT_GROUP = "flowhooks.handlers"
BUILTIN_MODULES = (
    "flowhooks.handlers.validate_datetime",
    "flowhooks.handlers.fetch_user_preferences",
    "flowhooks.handlers.update_user_preferences",
    "flowhooks.handlers.update_pause_status",
    "flowhooks.handlers.allocate_agent",
    "flowhooks.handlers.create_outbound",
    "flowhooks.handlers.pullreport",
    "flowhooks.handlers.short_url",
    "flowhooks.handlers.link_creation",
    "flowhooks.handlers.translate_text",
    "flowhooks.handlers.speech_processing",
)


def load_registry(builtins: tuple[str, ...] = BUILTIN_MODULES) -> MethodRegistry:
    registry = MethodRegistry()
    for name in builtins:
        registry.register(Method.from_module(import_module(name), f"builtin {name}"))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ep.name} = {ep.value}"
        try:
            target = ep.load()
        except Exception as exc:
            raise RegistryError(f"cannot load {source}: {exc}") from exc
        if isinstance(target, Method):
            handler = target
        elif isinstance(target, ModuleType):
            handler = Method.from_module(target, source)
        else:
            raise RegistryError(f"{source} is neither a handler module nor a Method")
        registry.register(handler)
    return registry
