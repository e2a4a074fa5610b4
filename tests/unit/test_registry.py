"""The method registry and loader: built-ins, entry-point plug-ins, duplicates, freezing."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowhooks.errors import RegistryError
from flowhooks.handlers import validate_datetime
from flowhooks.method import Method
from flowhooks.methods import loader
from flowhooks.methods.registry import MethodRegistry


def make_plugin(root: Path, method: str, module: str = "fh_plugin_echo") -> None:
    """A real installed distribution: a module plus dist-info with an entry point."""
    (root / f"{module}.py").write_text(
        textwrap.dedent(
            f'''
            """Echoes a key back."""
            from flowhooks.method import Keys
            METHOD = "{method}"
            class Input(Keys):
                text: str
            class Output(Keys):
                echoed: str
            async def handle(ctx, keys):
                return Output(echoed=keys.text)
            '''
        )
    )
    dist = root / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[flowhooks.handlers]\n{method} = {module}\n")


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fh_plugin_echo", None)


def test_builtins_are_registered_case_insensitively() -> None:
    reg = loader.load_registry()
    assert reg.lookup("VALIDATEDATETIME") is reg["validateDateTime"]
    assert reg.lookup("nope") is None
    assert "validateDateTime" in reg.names()


def test_entry_point_plugin_is_loaded(plugin_path: Path) -> None:
    make_plugin(plugin_path, "echoText")
    reg = loader.load_registry()
    handler = reg.lookup("echotext")
    assert handler is not None
    assert handler.source == "entry point echoText = fh_plugin_echo"
    assert handler.description == "Echoes a key back."


def test_duplicate_method_names_both_sources(plugin_path: Path) -> None:
    make_plugin(plugin_path, "ValidateDateTime")
    with pytest.raises(RegistryError) as info:
        loader.load_registry()
    text = str(info.value)
    assert "entry point ValidateDateTime = fh_plugin_echo" in text
    assert "builtin flowhooks.handlers.validate_datetime" in text


def test_frozen_registry_refuses_registration() -> None:
    reg = MethodRegistry()
    reg.register(Method.from_module(validate_datetime, "a"))
    reg.freeze()
    with pytest.raises(RegistryError, match="frozen"):
        reg.register(Method.from_module(validate_datetime, "b"))


def test_module_without_the_contract_is_refused() -> None:
    with pytest.raises(RegistryError, match="not a handler module"):
        Method.from_module(sys.modules[__name__])


def test_a_mapping_answer_is_checked_against_the_output() -> None:
    from flowhooks.handlers import fetch_user_preferences, validate_datetime

    vd = Method.from_module(validate_datetime, "a")
    assert vd.undeclared(["outputDate", "holidayName"]) == []
    assert vd.undeclared(["outputDate", "surprise"]) == ["surprise"]
    prefs = Method.from_module(fetch_user_preferences, "b")
    assert prefs.undeclared(["userFound", "$user.key.language"]) == []
    assert prefs.undeclared(["$flow.key.other"]) == ["$flow.key.other"]
