"""Many users at once through HAProxy and 3 workers: each gets exactly their own MP4, and the
backend saw every message and every render exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import av
import pytest

from tests.remote.conftest import Cluster, new_token
from tests.remote.flows import Outcome, make_video

CROWD = 12
"""The default run's crowd: four users per worker at once, enough to interleave on every one."""
SOAK = int(os.environ.get("NEMO_REMOTE_USERS", "50"))
"""The chaos tier's crowd (docs/DEPLOY.md's figures are for 50)."""


def mp4_frames(data: bytes, folder: Path, name: str) -> int:
    path = folder / name
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize(
    "users",
    [pytest.param(CROWD, id="crowd"), pytest.param(SOAK, id="soak", marks=pytest.mark.chaos)],
)
async def test_concurrent_users_each_get_their_own_video(
    fresh: Cluster, tmp_path: Path, users: int
) -> None:
    tokens = [new_token(fresh.backend.url) for _ in range(users)]
    outcomes: list[Outcome | None] = [None] * users
    errors: list[str] = []

    async def one(i: int) -> None:
        try:
            outcomes[i] = await make_video(fresh.url, tokens[i], tmp_path / f"u{i}", i)
        except Exception as exc:  # noqa: BLE001 - gathered, then reported all at once
            errors.append(f"user {i}: {exc!r} {getattr(exc, 'error', '')}")

    with anyio.fail_after(240):
        async with anyio.create_task_group() as tg:
            for i in range(users):
                tg.start_soon(one, i)

    assert errors == []
    done = [o for o in outcomes if o is not None]
    assert len(done) == users
    for i, outcome in enumerate(done):
        # The user's own photo, and only it, is on their timeline.
        assert outcome.upload_name.endswith(f"user{i}.jpg")
        assert outcome.upload_name in outcome.timeline
        assert all(o.upload_name not in outcome.timeline for o in done if o is not outcome)
        assert mp4_frames(outcome.mp4, tmp_path, f"{i}.mp4") > 0
    # Distinct photos make distinct videos: nobody got somebody else's file.
    assert len({o.digest for o in done}) == users
    stats = fresh.backend.stats
    assert stats.count("run_sse") == users, "every message was sent exactly once"
    assert stats.count("render_submit") == users, "every render was submitted exactly once"
    assert stats.count("upload") == users
