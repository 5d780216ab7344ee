"""Start-up measures: a real MCP client spawns the server over stdio, as an assistant does.

Each function spawns one process and returns one sample; ``run.py`` alternates them with their
baselines (``bare_server.py``, a bare ``MCPServer`` with one tool).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

BARE = str(Path(__file__).with_name("bare_server.py"))
SKILL = "picture-to-video-ai"


def _env(config_dir: str) -> dict[str, str]:
    return {
        "NEMO_CONFIG_DIR": config_dir,
        "NEMO_API_URL": "http://127.0.0.1:9",
        "NEMO_LOG_LEVEL": "WARNING",
        "PATH": "",
    }


def _ours(config_dir: str, *, local: bool = False) -> StdioServerParameters:
    args = ["-m", "nemo_mcp", "serve", "--skill", SKILL] + (["--local"] if local else [])
    return StdioServerParameters(command=sys.executable, args=args, env=_env(config_dir))


def _bare(config_dir: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[BARE], env=_env(config_dir))


def _rss_mib(marker: str) -> float | None:
    """The idle RSS of the server process, found by a marker in its environment."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


async def _listed(client: Client, marker: str) -> dict[str, float]:
    """The server's idle RSS (MiB) and the size of its tools/list answer (chars)."""
    tools = await client.list_tools()
    rss = _rss_mib(marker)
    listed = sum(len(t.model_dump_json(exclude_none=True)) for t in tools.tools)
    return {"rss_mib": rss or 0.0, "tools_chars": float(listed)}


async def _called(client: Client, tool: str) -> None:
    result = await client.call_tool(tool, {})
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content}")


async def _initialize(params: StdioServerParameters, marker: str) -> dict[str, float]:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        ready = time.perf_counter() - started
        return {"initialize_ms": ready * 1000, **await _listed(client, marker)}


async def _first_call(params: StdioServerParameters, tool: str) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        await _called(client, tool)
        return (time.perf_counter() - started) * 1000


async def _both(params: StdioServerParameters, marker: str, tool: str) -> dict[str, float]:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        ready = time.perf_counter() - started
        listing = time.perf_counter()
        listed = await _listed(client, marker)
        listing = time.perf_counter() - listing
        await _called(client, tool)
        took = time.perf_counter() - started - listing
    return {"initialize_ms": ready * 1000, **listed, "first_call_ms": took * 1000}


def initialize(ours: bool) -> dict[str, float]:
    """Spawn -> ``initialize`` answered (ms), the idle RSS after it, the tools/list size."""
    with tempfile.TemporaryDirectory() as tmp:
        config = f"{tmp}/cfg"
        params = _ours(config) if ours else _bare(config)
        return anyio.run(_initialize, params, f"NEMO_CONFIG_DIR={config}")


def first_local_call(ours: bool) -> float:
    """``serve --local``: spawn -> first ``check_credits`` answered; baseline: a bare ping."""
    with tempfile.TemporaryDirectory() as tmp:
        if ours:
            return anyio.run(_first_call, _ours(f"{tmp}/cfg", local=True), "check_credits")
        return anyio.run(_first_call, _bare(f"{tmp}/cfg"), "ping")


def one_spawn(ours: bool) -> dict[str, float]:
    """Both of the above from one spawn, for the quick run (each spawn costs a second and a half
    of CPU in imports): ``serve --local`` (or the bare server) -> ``initialize`` answered, its
    idle RSS and tools/list size, then its first ``check_credits`` (``ping``) answered, timed
    from the spawn without the listing in between."""
    with tempfile.TemporaryDirectory() as tmp:
        config = f"{tmp}/cfg"
        params = _ours(config, local=True) if ours else _bare(config)
        tool = "check_credits" if ours else "ping"
        return anyio.run(_both, params, f"NEMO_CONFIG_DIR={config}", tool)
