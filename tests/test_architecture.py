"""The layer rules of docs/ARCHITECTURE.md, enforced on the source (imports inside functions too).

A rule broken here is a design decision to take in the open: change the document and this test
together, or move the code.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGES = ("nemo_mcp", "nemo_local", "nemo_media")
IO_LIBRARIES = ("httpx", "anyio", "sqlite3", "mcp", "socket", "subprocess", "uvicorn", "starlette")

# Pure logic: decisions and words, no I/O, no layer above them.
PURE = (
    "nemo_mcp.errors",
    "nemo_mcp.words",
    "nemo_mcp.redact",
    "nemo_mcp.routing",
    "nemo_mcp.timeline",
    "nemo_mcp.gui",
    "nemo_mcp.results",
    "nemo_mcp.deployment",
    "nemo_mcp.tool_names",
    "nemo_mcp.language",
    "nemo_mcp.skill_choice",
    "nemo_mcp.spend",
    "nemo_mcp.backend.sse",
    "nemo_mcp.backend.models",
    "nemo_mcp.backend.refusals",
    "nemo_mcp.store.records",
    "nemo_local.draft_reading",
    "nemo_local.drafts",
    "nemo_local.filtergraph",
    "nemo_local.render_plan",
)
# Layer -> the nemo_mcp layers it must never import (the arrows point downwards only).
FORBIDDEN = {
    "nemo_mcp.store": (
        "backend",
        "flows",
        "tools",
        "server",
        "serve",
        "jobs",
        "uploads",
        "cli",
        "remote",
    ),  # fmt: skip
    "nemo_mcp.backend": (
        "flows",
        "tools",
        "server",
        "serve",
        "jobs",
        "uploads",
        "downloads",
        "cli",
        "remote",
    ),
    "nemo_mcp.jobs": ("backend", "flows", "tools", "server", "serve", "cli", "remote"),
    "nemo_mcp.flows": ("tools", "server", "serve", "cli", "remote"),
    "nemo_mcp.tools": ("server", "serve", "cli", "remote"),
    "nemo_mcp.server": ("serve", "cli", "remote"),
}
# The only modules of the server that may start the embedded backend.
MAY_IMPORT_NEMO_LOCAL = {
    "nemo_mcp.offline",
    "nemo_mcp.cli",
    "nemo_mcp.demo",
    "nemo_mcp.doctor",
    "nemo_mcp.housekeeping",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((SRC / pkg).rglob("*.py"))}


@functools.cache
def imports_of(name: str, path: Path) -> tuple[str, ...]:
    """Every module ``path`` imports, anywhere in the file, relative imports resolved (parsed
    once a run: a dozen rules read every module)."""
    return tuple(_imports_in(name, path))


def _imports_in(name: str, path: Path) -> Iterator[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.module


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


ALL = modules()


def broken(rule: str, offenders: list[str]) -> str:
    return f"{rule}:\n  " + "\n  ".join(offenders)


def test_the_rules_name_modules_that_exist() -> None:
    named = [*PURE, *FORBIDDEN, *MAY_IMPORT_NEMO_LOCAL]
    assert [n for n in named if n not in ALL] == []


def test_nemo_media_is_a_leaf_and_nemo_local_never_imports_the_server() -> None:
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        for dep in imports_of(name, path)
        if (within(name, "nemo_media") and dep.split(".")[0] in ("nemo_mcp", "nemo_local"))
        or (within(name, "nemo_local") and within(dep, "nemo_mcp"))
    ]
    assert not offenders, broken("the embedded backend and nemo_media stand alone", offenders)


def test_only_the_entry_points_start_the_embedded_backend() -> None:
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        if within(name, "nemo_mcp") and name not in MAY_IMPORT_NEMO_LOCAL
        for dep in imports_of(name, path)
        if within(dep, "nemo_local")
    ]
    assert not offenders, broken("nemo_local is reached only through the entry points", offenders)


@pytest.mark.parametrize("pure", PURE)
def test_pure_modules_do_no_io(pure: str) -> None:
    io_layers = [f"nemo_mcp.{layer}" for layer in ("backend", "store", "flows", "tools", "jobs")]
    allowed = set(PURE)
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        if within(name, pure)
        for dep in imports_of(name, path)
        if dep.split(".")[0] in IO_LIBRARIES
        or (
            any(within(dep, layer) for layer in io_layers)
            and not any(within(dep, p) for p in allowed)
        )
    ]
    assert not offenders, broken(f"{pure} is pure logic", offenders)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_downwards_only(layer: str) -> None:
    above = [f"nemo_mcp.{name}" for name in FORBIDDEN[layer]]
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        if within(name, layer)
        for dep in imports_of(name, path)
        if any(within(dep, a) for a in above)
    ]
    assert not offenders, broken(f"{layer} imports only layers below it", offenders)


def test_only_the_command_line_reaches_the_shared_deployment() -> None:
    """``serve --http`` (nemo_mcp.remote) sits beside ``serve``: the stdio server never loads it."""
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        if name != "nemo_mcp.cli" and not within(name, "nemo_mcp.remote")
        for dep in imports_of(name, path)
        if within(dep, "nemo_mcp.remote")
    ]
    assert not offenders


def test_nothing_imports_the_command_line_but_its_entry_point() -> None:
    offenders = [
        f"{name} imports {dep}"
        for name, path in ALL.items()
        if name not in ("nemo_mcp.__main__", "nemo_mcp.cli")
        for dep in imports_of(name, path)
        if dep == "nemo_mcp.cli"
    ]
    assert not offenders


def test_no_module_grows_past_what_a_reader_holds_in_mind() -> None:
    limit = 420
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in ALL.items()}
    assert {n: size for n, size in sizes.items() if size > limit} == {}


PUBLIC = [name for name, path in ALL.items() if "__all__" in path.read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_lists_what_the_module_offers_and_nothing_else(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert [n for n in exported if not hasattr(module, n)] == []
    if ALL[name].name == "__init__.py":
        # A package's face: every public name it takes from its own modules is offered.
        imported = {alias.asname or alias.name for alias in re_exports(name)}
        assert sorted(n for n in imported if not n.startswith("_") and n not in exported) == []


def test_every_package_that_re_exports_declares_all() -> None:
    missing = [
        name
        for name, path in ALL.items()
        if path.name == "__init__.py" and any(re_exports(name)) and name not in PUBLIC
    ]
    assert missing == []


def re_exports(package: str) -> Iterator[ast.alias]:
    """Names a package's ``__init__`` imports from its own modules (what it re-exports)."""
    for node in ast.parse(ALL[package].read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").startswith(package + ".")
        ):
            yield from node.names


def test_the_readme_layout_table_matches_the_tree() -> None:
    readme = (SRC.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = {p.rstrip("/") for p in re.findall(r"`((?:nemo_\w+)/[\w/.]*)`", table)}
    assert sorted(n for n in named if not (SRC / n).exists()) == [], (
        "the table names a missing path"
    )
    tree = {
        f"nemo_mcp/{p.name}"
        for p in (SRC / "nemo_mcp").iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    tree |= {"nemo_media", "nemo_local"}
    assert sorted(tree - named) == [], "the table leaves out a module"
