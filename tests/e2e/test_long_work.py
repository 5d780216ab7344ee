"""Work that outlives the client's clock: hand-off, joining, queueing, restart."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.e2e.conftest import MakeMedia, Workspace, read_mp4, structured

WAIT = 3
GENERATION_SECONDS = WAIT + 0.5


async def test_a_generation_longer_than_the_wait_hands_off_and_the_same_words_join_it(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """A real stream of heartbeats only, longer than the wait (``NEMO_TOOL_WAIT``; 45 s by
    default, tested in test_settings, because Claude Desktop stops waiting at about 60 s): the
    call hands off at the wait, the same words join the job and return its result when it
    ends; one /run_sse. The wait is short here only to keep the test's wall time small."""
    images = photos(2)
    params = workspace.params(NEMO_TOOL_WAIT=str(WAIT))
    message = "turn these photos into a video with transitions"
    async with Client(params, mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": GENERATION_SECONDS})
        started = time.monotonic()
        first = structured(await client.call_tool("send_edit", {"message": message}))
        waited = time.monotonic() - started
        assert first["status"] == "running", first
        assert WAIT - 1 < waited < WAIT + 3, f"returned after {waited:.1f} s"
        assert first["job_id"]

        joined_at = time.monotonic()
        again = structured(await client.call_tool("send_edit", {"message": message}))
        joined = time.monotonic() - joined_at
    assert again["job_id"] == first["job_id"]
    assert again["status"] == "done", again  # the join waited for the rest of the generation
    assert joined < WAIT + 3, f"the join waited {joined:.1f} s"
    assert "2 photos" in again["reply"]
    assert workspace.backend.stats.count("run_sse") == 1


async def test_a_different_message_is_queued_and_sent_after(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(2)
    async with Client(workspace.params(NEMO_TOOL_WAIT="1"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 2})
        first = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        second = structured(
            await client.call_tool("send_edit", {"message": "add the title 'Queued'"})
        )
        assert first["status"] == "running"
        assert second["status"] == "queued" and "place 1" in second["reply"]
        with anyio.fail_after(60):
            while True:
                timeline = structured(await client.call_tool("get_timeline", {}))
                if not any(j["status"] in ("running", "queued") for j in timeline["jobs"]):
                    break
                await anyio.sleep(0.3)
    assert 'Title: "Queued"' in timeline["summary"]
    assert workspace.backend.stats.count("run_sse") == 2


def _server_pids(config_dir: Path) -> list[int]:
    """The serve processes started for this test (found by their private config folder)."""
    marker = f"NEMO_CONFIG_DIR={config_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the server process through /proc")
async def test_a_killed_server_resumes_the_same_render(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(3)
    env = {"NEMO_TOOL_WAIT": "0.5", "NEMO_POLL_INTERVAL": "3"}
    async with Client(workspace.params(**env), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        first = structured(await client.call_tool("export_video", {}))
        assert first["status"] == "running"
        with anyio.fail_after(20):  # the render is with the backend: now kill the server
            while workspace.backend.stats.count("render_submit") == 0:
                await anyio.sleep(0.05)
        pids = _server_pids(workspace.config)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    assert workspace.backend.stats.count("render_submit") == 1
    async with Client(workspace.params(NEMO_TOOL_WAIT="30"), mode="legacy") as client:
        done = structured(await client.call_tool("export_video", {}))
    assert done["status"] == "done"
    assert workspace.backend.stats.count("render_submit") == 1
    assert read_mp4(Path(done["path"]))["video_codec"] == "h264"
