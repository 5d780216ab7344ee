"""How fast ``nemo-mcp serve`` answers ``initialize``, and how much memory it holds idle.

Assistants spawn MCP servers when they launch, so this is the latency a user waits through.
Run: ``python bench/bench_startup.py [runs]``. Prints the median and range of spawn-to-initialize
time, the time to list tools, and the idle RSS of the server process.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _server_pid(marker: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None


async def one_run(config_dir: str) -> tuple[float, float, int | None]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nemo_mcp", "serve", "--skill", "picture-to-video-ai"],
        env={"NEMO_CONFIG_DIR": config_dir, "NEMO_API_URL": "http://127.0.0.1:9", "PATH": ""},
    )
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        ready = time.perf_counter() - started
        t0 = time.perf_counter()
        await client.list_tools()
        listed = time.perf_counter() - t0
        rss = _rss_kib(_server_pid(f"NEMO_CONFIG_DIR={config_dir}") or 0)
    return ready, listed, rss


async def main(runs: int) -> None:
    ready, listed, rss = [], [], []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as config_dir:
            r, t, m = await one_run(f"{config_dir}/{i}")
        ready.append(r * 1000)
        listed.append(t * 1000)
        if m:
            rss.append(m / 1024)
    print(f"spawn to initialize: median {statistics.median(ready):.0f} ms "
          f"(min {min(ready):.0f}, max {max(ready):.0f}, {runs} runs)")  # fmt: skip
    print(f"tools/list:          median {statistics.median(listed):.1f} ms")
    if rss:
        print(f"idle RSS:            median {statistics.median(rss):.1f} MiB")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 5)
