"""Tool latency and throughput of the shared deployment: N users through HAProxy, 3 workers.

The same set-up as tests/remote (PostgreSQL and HAProxy from Debian's packages, a throwaway
cluster, 3 ``serve --http`` workers on loopback), with the embedded backend in a process of its
own so the clients do not share its CPU. Each user uploads a photo (POST /uploads), calls
upload_media, send_edit ("turn these photos into a video") and export_video, then downloads the
MP4. Prints p50/p95 per step, and videos per minute.

    .venv/bin/python bench/bench_remote.py [--users 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.remote.conftest import SERVER_KEY, new_token  # noqa: E402
from tests.remote.flows import Outcome, make_video  # noqa: E402
from tests.remote.services import (  # noqa: E402
    BackendProcess,
    HAProxy,
    Postgres,
    Worker,
    free_port,
    haproxy_bin,
    pg_bin,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(users: int, root: Path) -> None:
    bindir, haproxy = pg_bin(), haproxy_bin()
    if bindir is None or haproxy is None:
        raise SystemExit("PostgreSQL and HAProxy are needed: run .ci/install-remote")
    pg = Postgres.start(bindir)
    backend = BackendProcess.start(root / "backend")
    backend_url = backend.url
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(root), "PYTHONPATH": str(ROOT / "src"),
        "NEMO_API_URL": backend_url, "NEMO_DATABASE_URL": pg.url, "NEMO_SERVER_KEY": SERVER_KEY,
        "NEMO_REMOTE_DIR": str(root / "shared"), "NEMO_CONFIG_DIR": str(root / "config"),
        "NEMO_POLL_INTERVAL": "0.2", "NEMO_RECOVERY_WAIT": "0.3", "NEMO_TOOL_WAIT": "30",
        "NEMO_RENDER_POLLS": "600", "NEMO_CONTACT_SHEET": "0",
    }  # fmt: skip
    workers = [Worker(free_port(), env, root / f"worker{i}.log") for i in range(3)]
    proxy = None
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        proxy = HAProxy.start(root, haproxy, workers)
        tokens = [new_token(backend_url) for _ in range(users)]
        outcomes: list[Outcome] = []

        async def one(i: int) -> None:
            outcomes.append(await make_video(proxy.url, tokens[i], root / f"u{i}", i))

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(users):
                tg.start_soon(one, i)
        wall = time.perf_counter() - started
        stats = httpx.get(f"{backend_url}/_local/stats").json()["routes"]
        print(f"{users} users, 3 workers, wall {wall:.1f} s, {users / wall * 60:.1f} videos/min")
        print(
            f"backend saw: run_sse {stats.get('run_sse')}, "
            f"render_submit {stats.get('render_submit')}, upload {stats.get('upload')}"
        )
        print(f"{'step':<16} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
        for step in outcomes[0].latencies:
            values = [o.latencies[step] for o in outcomes]
            print(f"{step:<16} {statistics.median(values):7.2f} {percentile(values, 0.95):7.2f} "
                  f"{max(values):7.2f}")  # fmt: skip
    finally:
        if proxy is not None:
            proxy.stop()
        for worker in workers:
            worker.stop()
        backend.stop()
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nemo-bench-remote-") as folder:
        anyio.run(run, args.users, Path(folder))


if __name__ == "__main__":
    main()
