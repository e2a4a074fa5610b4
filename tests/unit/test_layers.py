"""The direction of imports (docs/architecture.md): a module imports only its own layer
or the layers below it, and the pure domain imports no I/O library. An AST scan."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent.parent / "flowhooks"

PURE_OUTBOUND = ("outbound.model", "outbound.retry", "outbound.transitions", "outbound.pacing")
PURE_LINKS = ("links.codes", "links.urls", "links.useragents")
PURE_TRACES = ("traces.record", "traces.export")
# bottom to top; a module's layer is that of its longest matching prefix
LAYERS: list[tuple[str, ...]] = [
    (
        "",
        "errors",
        "clock",
        "logs",
        "metrics",
        "request_ids",
        "plugins",
        "redact",
        "texts",
        "cooperative",
        "memo",
        "batching",
        "vault",
    ),
    (
        "calendar",
        "phones",
        "envelope",
        "outbound",
        "webhooks",
        "languages",
        "speech",
        "links",
        *PURE_OUTBOUND,
        *PURE_LINKS,
        *PURE_TRACES,
    ),
    ("integrations", "storage"),
    ("settings",),
    ("clients", "outbound.service", "links.service", "webhooks.service", "limits", "traces"),
    ("method",),
    ("handlers",),
    ("methods",),
    ("workers",),
    ("process",),
    ("web", "console"),
    ("replay",),
    ("cli",),
]
PURE = (
    "calendar",
    "phones",
    "envelope",
    "webhooks",
    "languages",
    "speech",
    *PURE_OUTBOUND,
    *PURE_LINKS,
    *PURE_TRACES,
)
IO_LIBRARIES = ("aiohttp", "sqlalchemy", "asyncpg", "sqlite3")


def layer_of(module: str) -> int:
    """The layer of ``flowhooks.<module>`` ("" for the package itself)."""
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix == "" and module == "":
                return i
            if prefix and (module == prefix or module.startswith(prefix + ".")):
                if len(prefix) > best:
                    best, rank = len(prefix), i
    if rank < 0:
        raise AssertionError(f"flowhooks.{module} has no layer in LAYERS: add it")
    return rank


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in a file, relative imports resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def check(path: Path, here: str) -> list[str]:
    """The wrong-way imports of one file, read as the module ``flowhooks.<here>``."""
    out = []
    mine = layer_of(here)
    for line, target in imports(path):
        if here.startswith(PURE) and target.split(".")[0] in IO_LIBRARIES:
            out.append(f"flowhooks.{here}:{line} is pure but imports {target}")
        if not target.startswith("flowhooks."):
            continue
        try:
            theirs = layer_of(target.removeprefix("flowhooks."))
        except AssertionError:
            continue  # ``from flowhooks.x import SomeName``: the module itself is checked
        if theirs > mine:
            out.append(f"flowhooks.{here}:{line} (layer {mine}) imports {target} ({theirs})")
    return out


def violations() -> list[str]:
    return [v for path in sorted(PACKAGE.rglob("*.py")) for v in check(path, module_name(path))]


def test_imports_run_one_way() -> None:
    assert violations() == []


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_the_guard_sees_a_wrong_way_import(tmp_path: Path) -> None:
    assert layer_of("storage.outbound") < layer_of("web.app")
    assert layer_of("outbound.model") < layer_of("outbound.service") < layer_of("method")
    assert layer_of("handlers.create_outbound") < layer_of("methods.engine")
    bad = tmp_path / "bad.py"
    bad.write_text("import aiohttp\nfrom flowhooks.web import keys\nfrom flowhooks import clock\n")
    assert check(bad, "outbound.model") == [
        "flowhooks.outbound.model:1 is pure but imports aiohttp",
        "flowhooks.outbound.model:2 (layer 1) imports flowhooks.web (10)",
        "flowhooks.outbound.model:2 (layer 1) imports flowhooks.web.keys (10)",
    ]
    assert check(bad, "cli") == []
