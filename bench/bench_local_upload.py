"""How much memory the local backend needs to take a big upload (default 500 MB).

Starts the backend as a subprocess (``python -m nemo_local``), uploads a sparse file
through a real loopback socket with httpx (streamed from disk), and prints the backend's peak RSS
growth (Linux ``/proc/<pid>/status``: VmHWM minus VmRSS before the upload) and the throughput.
The issue's bar: growth under 50 MB for a 500 MB upload.

    .venv/bin/python bench/bench_local_upload.py [--mb 500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def sparse_mp4(path: Path, megabytes: int) -> Path:
    """A file that sniffs as MP4 and takes (almost) no disk: header, then a hole."""
    with path.open("wb") as f:
        f.write(MP4_HEAD)
        f.truncate(megabytes * 1024 * 1024)
    return path


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found (Linux only)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="upload size in MB (default 500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        work = Path(tmp)
        big = sparse_mp4(work / "big.mp4", args.mb)
        proc = subprocess.Popen(
            [sys.executable, "-m", "nemo_local", "--data-dir", str(work / "data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            with httpx.Client(base_url=url, timeout=600) as client:
                token = client.post(
                    "/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
                ).json()["data"]["token"]
                headers = {"Authorization": f"Bearer {token}"}
                session = client.post(
                    "/api/tasks/me/with-session/nemo_agent",
                    json={"task_name": "project", "language": "en"},
                    headers=headers,
                ).json()["data"]["session_id"]
                before = rss_kb(proc.pid, "VmRSS")
                started = time.perf_counter()
                with big.open("rb") as f:
                    answer = client.post(
                        f"/api/upload-video/nemo_agent/me/{session}",
                        files={"files": ("big.mp4", f, "video/mp4")},
                        headers=headers,
                    )
                seconds = time.perf_counter() - started
                peak = rss_kb(proc.pid, "VmHWM")
            stored = answer.json()["data"]["files"][0]["bytes"]
            rate = args.mb / seconds
            print(f"uploaded {stored / 2**20:.0f} MB in {seconds:.1f} s ({rate:.0f} MB/s)")
            print(f"backend RSS before: {before / 1024:.1f} MB, peak: {peak / 1024:.1f} MB")
            print(f"peak growth: {(peak - before) / 1024:.1f} MB (bar: 50 MB)")
            return 0 if peak - before < 50 * 1024 else 1
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
