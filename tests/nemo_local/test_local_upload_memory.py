"""A big upload streams to disk in constant memory (bench/bench_local_upload.py measures RSS too).

tracemalloc sees every thread of this process: the backend's (running in its own thread) and the
client's, so the bound covers both ends of the socket.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nemo_local import RunningBackend

from .local_backend_helpers import MP4_HEAD, User

SIZE_MB = 500
BOUND_MB = 50


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


async def test_500_mb_upload_grows_memory_by_less_than_50_mb(
    tmp_path: Path, embedded_backend: RunningBackend, user: User, traced: None
) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.write(MP4_HEAD)
        f.truncate(SIZE_MB * 1024 * 1024)
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    with big.open("rb") as f:
        answer = await user.http.post(
            f"/api/upload-video/nemo_agent/me/{user.session_id}",
            files={"files": ("big.mp4", f, "video/mp4")},
            headers=user.headers,
            timeout=httpx.Timeout(120),
        )
    _, peak = tracemalloc.get_traced_memory()
    assert answer.status_code == 200, answer.text
    stored = answer.json()["data"]["files"][0]
    assert stored["bytes"] == SIZE_MB * 1024 * 1024
    stored_path = embedded_backend.config.data_dir / "media" / Path(stored["url"]).name
    assert stored_path.stat().st_size == stored["bytes"]
    growth_mb = (peak - baseline) / 2**20
    assert growth_mb < BOUND_MB, f"peak grew by {growth_mb:.1f} MB"
