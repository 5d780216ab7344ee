"""The client's memory while it uploads a large file: it must stay flat.

Run: ``python bench/bench_client_upload.py [GiB]``. A sparse file is uploaded through the real
client to the embedded local backend running in a separate process, and the client's peak RSS
growth is read from ``/proc`` (Linux). The pytest suite checks the same with tracemalloc.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.manifests import load_manifests
from nemo_mcp.settings import Settings


def _rss_kib(field: str = "VmHWM") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError("no /proc")


async def main(gib: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = subprocess.Popen(
            [sys.executable, "-m", "nemo_mcp", "local-backend", "--data-dir", tmp],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert backend.stdout is not None
            url = backend.stdout.readline().strip()
            big = Path(tmp) / "big.mp4"
            with big.open("wb") as f:
                f.write(b"\0\0\0\x18ftypisom")
                f.truncate(int(gib * 1024**3))
            manifest = load_manifests()["lipsyncvideo-ai"]
            settings = Settings(api_url=url, config_dir=Path(tmp) / "cfg")
            async with BackendClient(settings, manifest, environ={}) as client:
                await client.session()
                before = _rss_kib("VmRSS")
                started = time.perf_counter()
                try:
                    await client.upload_file(big, filename="big.mp4", content_type="video/mp4")
                except Exception as exc:  # the backend may refuse the size; the memory still counts
                    print(f"backend answered: {type(exc).__name__}")
                took = time.perf_counter() - started
                peak = _rss_kib("VmHWM")
        finally:
            backend.terminate()
            backend.wait(20)
    size_mb = gib * 1024
    print(f"uploaded {size_mb:.0f} MiB in {took:.1f} s ({size_mb / took:.0f} MiB/s)")
    print(f"client RSS before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
          f"(growth at most {(peak - before) / 1024:.1f} MiB)")  # fmt: skip


if __name__ == "__main__":
    anyio.run(main, float(sys.argv[1]) if len(sys.argv) > 1 else 0.45)
