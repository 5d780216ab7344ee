"""Measures of the byte paths: the stream reader, one keep-alive request, one big upload.

Each function returns one sample for ``run.py`` to alternate with its baseline.
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.sse_sample import adk_partial_stream, chunks

# -- the stream reader ----------------------------------------------------------------------


def sse_ours(parts: list[str], traced: bool = False) -> dict[str, float]:
    """Our reader (``StreamParser``) over the chunks: seconds, or (traced) memory growth."""
    from nemo_mcp.backend.sse import StreamParser

    def read() -> None:
        parser = StreamParser()
        for part in parts:
            parser.feed(part)
        parser.close()

    return _timed_or_traced(read, traced)


def sse_baseline(parts: list[str], traced: bool = False) -> dict[str, float]:
    """httpx-sse's decoders + ``json.loads`` on the same text (it drops comments, which we may
    not, so it does a little less)."""
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    def read() -> None:
        lines, events = SSELineDecoder(), SSEDecoder()
        for part in [*parts, None]:
            for line in lines.decode(part) if part is not None else lines.flush():
                event = events.decode(line)
                if event is not None and event.data:
                    json.loads(event.data)

    return _timed_or_traced(read, traced)


def _timed_or_traced(read: Callable[[], None], traced: bool) -> dict[str, float]:
    if not traced:
        started = time.perf_counter()
        read()
        return {"seconds": time.perf_counter() - started}
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"growth_mib": (peak - base) / 2**20}


def sse_parts(events: int) -> list[str]:
    return chunks(adk_partial_stream(events))


def sse_linearity(parts: list[str], double: list[str], runs: int = 5) -> float:
    """How much longer twice the events take (best of ``runs`` each, alternating): 2 is linear."""
    best, best_double = float("inf"), float("inf")
    for _ in range(runs):
        best = min(best, sse_ours(parts)["seconds"])
        best_double = min(best_double, sse_ours(double)["seconds"])
    return best_double / best


# -- one keep-alive request -----------------------------------------------------------------


@contextmanager
def local_backend(nodelay: bool) -> Iterator[str]:
    """A local backend in a thread; ``nodelay=False`` binds its socket the old way (protocol
    0, so asyncio leaves Nagle on), the baseline of the keep-alive measure."""
    from nemo_local import LocalBackendConfig, runner, start_in_thread

    def old_bind(host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        return sock

    bind = runner.listening_socket
    if not nodelay:
        runner.listening_socket = old_bind
    try:
        with tempfile.TemporaryDirectory() as tmp:
            running = start_in_thread(LocalBackendConfig(data_dir=Path(tmp)))
            try:
                yield running.url
            finally:
                running.stop()
    finally:
        runner.listening_socket = bind


def keep_alive_ms(url: str, requests: int = 20) -> float:
    """The median time of one request on a kept-alive connection (credits balance)."""
    with httpx.Client(base_url=url) as client:
        token = client.post(
            "/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
        ).json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        client.get("/api/credits/balance/simple", headers=headers)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get("/api/credits/balance/simple", headers=headers).raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# -- one big upload -------------------------------------------------------------------------


@contextmanager
def upload_target(megabytes: int) -> Iterator[dict[str, Any]]:
    """A local backend process, a sparse MP4 of ``megabytes``, a token and a session."""
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        work = Path(tmp)
        big = work / "big.mp4"
        with big.open("wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
            f.truncate(megabytes * 2**20)
        proc = subprocess.Popen(
            [sys.executable, "-m", "nemo_local", "--data-dir", str(work / "data")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            yield {"url": url, "file": str(big), "mb": megabytes, "config": str(work / "cfg")}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def upload_sample(kind: str, target: dict[str, Any]) -> dict[str, float]:
    """One upload in a fresh process (``bench/upload.py``): MB/s and RSS growth (MiB)."""
    script = Path(__file__).with_name("upload.py")
    out = subprocess.run(
        [sys.executable, str(script), kind, json.dumps(target)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    return result


def curl_available() -> bool:
    return shutil.which("curl") is not None
