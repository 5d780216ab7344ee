"""How this copy of nemo-mcp was installed, and so which command an MCP client should launch.

MCP clients start servers without a shell, so the command must work from any folder and
survive: for a pipx or ``uv tool`` install the ``nemo-mcp`` link on the PATH
(``~/.local/bin/nemo-mcp``), for a virtual environment its ``bin/nemo-mcp``, and for a ``uvx``
run (whose environment lives in uv's cache and may be cleaned at any time) a ``uvx --from <spec>
nemo-mcp`` line. ``detect`` is pure; ``current`` gathers the facts from this process.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

Kind = Literal["pipx", "uv tool", "uvx", "venv", "python"]
DIST = "nemo-mcp"
SCRIPT = "nemo-mcp"
_UV_CACHE_PARTS = ("archive-v", "builds-v", "environments-v")


@dataclass(frozen=True)
class Facts:
    """What ``detect`` decides from; ``current`` reads them from this process."""

    prefix: Path
    """``sys.prefix``: the environment nemo-mcp runs in."""
    script: Path | None
    """The ``nemo-mcp`` script of that environment, when it exists."""
    on_path: Path | None
    """``nemo-mcp`` as found on the PATH, resolved to the file it links to (for comparison)."""
    on_path_as_typed: Path | None
    """The same, unresolved: the link a user's PATH holds (``~/.local/bin/nemo-mcp``)."""
    source: str | None
    """Where the package was installed from, when not an index: a folder or a URL."""
    uvx: str | None
    """The ``uvx`` program (absolute when found)."""
    executable: Path


@dataclass(frozen=True)
class Install:
    kind: Kind
    command: list[str]
    """The program and the arguments before ``serve``."""


def _is_uv_cache(prefix: Path) -> bool:
    """uv's cache keeps ``uvx`` environments under ``archive-v0/...`` (and kin), wherever
    ``UV_CACHE_DIR`` puts it."""
    return any(p.startswith(_UV_CACHE_PARTS) for p in prefix.parts)


def _is_tool_env(prefix: Path) -> Kind | None:
    parts = prefix.parts
    for i, part in enumerate(parts[:-1]):
        if part == "pipx" and parts[i + 1] == "venvs":
            return "pipx"
        if part == "tools" and "uv" in parts[max(0, i - 2) : i]:  # uv/tools, uv/data/tools
            return "uv tool"
    return None


def uvx_spec(source: str | None, *, local: bool) -> str:
    """The ``--from`` spec: the folder or URL it came from, else the index name; with the
    ``local`` extra for an offline server."""
    base = source or DIST
    return f"{base}[local]" if local else base


def detect(facts: Facts, *, local: bool = False) -> Install:
    """The install kind and the command a client should launch (rules in the module docstring)."""
    if _is_uv_cache(facts.prefix):
        uvx = facts.uvx or "uvx"
        return Install("uvx", [uvx, "--from", uvx_spec(facts.source, local=local), SCRIPT])
    tool = _is_tool_env(facts.prefix)
    if tool and facts.script:
        same = facts.on_path is not None and facts.on_path == facts.script.resolve()
        shown = facts.on_path_as_typed if same and facts.on_path_as_typed else facts.script
        return Install(tool, [str(shown)])
    if facts.script:
        return Install("venv", [str(facts.script)])
    return Install("python", [str(facts.executable), "-m", "nemo_mcp"])


def _source() -> str | None:
    """The folder or URL of a direct install (PEP 610 ``direct_url.json``), else None."""
    try:
        text = metadata.distribution(DIST).read_text("direct_url.json")
        url = str(json.loads(text)["url"]) if text else ""
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError):
        return None
    if url.startswith("file://"):
        return unquote(urlparse(url).path)
    return url or None


def current() -> Facts:
    """The facts of this process."""
    folder = "Scripts" if os.name == "nt" else "bin"
    name = SCRIPT + (".exe" if os.name == "nt" else "")
    script = Path(sys.prefix) / folder / name
    found = shutil.which(SCRIPT)
    return Facts(
        prefix=Path(sys.prefix),
        script=script if script.is_file() else None,
        on_path=Path(found).resolve() if found else None,
        on_path_as_typed=Path(found).absolute() if found else None,
        source=_source(),
        uvx=shutil.which("uvx"),
        executable=Path(sys.executable),
    )
