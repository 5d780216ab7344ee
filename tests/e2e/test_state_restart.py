"""Jobs on record across restarts, crashes and a second process: real servers, a real SQLite
file, the local backend's counters, and ``kill -9`` where a crash is the point."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from nemo_mcp.store.sqlite import STATE_FILE
from tests.e2e.conftest import MakeMedia, Workspace, read_mp4, structured
from tests.e2e.test_long_work import _server_pids

needs_proc = pytest.mark.skipif(
    not Path("/proc").is_dir(), reason="finds the server process through /proc"
)


def jobs(config: Path, kind: str = "edit") -> list[dict[str, Any]]:
    """The job records as the state file holds them, oldest first."""
    with sqlite3.connect(config / STATE_FILE) as db:
        db.row_factory = sqlite3.Row
        query = "SELECT * FROM jobs WHERE kind = ? ORDER BY seq"
        return [dict(r) for r in db.execute(query, (kind,))]


def handoffs(config: Path) -> int:
    with sqlite3.connect(config / STATE_FILE) as db:
        return int(db.execute("SELECT COUNT(*) FROM handoffs").fetchone()[0])


async def wait_for(check: Any, seconds: float = 30) -> None:
    with anyio.fail_after(seconds):
        while not check():
            await anyio.sleep(0.05)


async def backend_idle(workspace: Workspace) -> None:
    """Until the backend has no message turn running (the one a killed server walked away from)."""
    async with httpx.AsyncClient(timeout=40) as http:
        answer = await http.get(f"{workspace.backend.url}/_local/idle", params={"wait": 30})
    assert answer.json()["idle"] is True


async def turn_running(workspace: Workspace) -> None:
    """Until the backend is working on a message (its stream is open)."""
    async with httpx.AsyncClient(timeout=10) as http:
        with anyio.fail_after(10):
            while not (await http.get(f"{workspace.backend.url}/_local/idle")).json()["turns"]:
                await anyio.sleep(0.05)


async def test_results_that_finished_before_a_restart_are_told_after_it_once_in_order(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(2)
    params = workspace.params(NEMO_TOOL_WAIT="0.5")
    async with Client(params, mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 1.5})
        first = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        second = structured(
            await client.call_tool("send_edit", {"message": "add the title 'After'"})
        )
        assert (first["status"], second["status"]) == ("running", "queued")
        # Both finish while this server runs; nobody asks; then it stops.
        await wait_for(lambda: [j["status"] for j in jobs(workspace.config)] == ["done"] * 2)
    assert [j["reported"] for j in jobs(workspace.config)] == [0, 0]

    async with Client(workspace.params(), mode="legacy") as client:
        told = structured(await client.call_tool("send_edit", {"message": "status"}))
        again = structured(await client.call_tool("send_edit", {"message": "status"}))
    assert told["status"] == "done" and told["job_id"] == second["job_id"]
    reply = told["reply"]
    assert "turn these photos into a video" in reply and "add the title 'After'" in reply
    assert reply.index("turn these photos") < reply.index("add the title")
    assert "After" in " ".join(told["changes"]) or 'Title: "After"' in told["timeline"]
    assert "turn these photos" not in again["reply"]  # told once: now it is the timeline
    assert [j["reported"] for j in jobs(workspace.config)] == [1, 1]
    assert workspace.backend.stats.count("run_sse") == 2


@needs_proc
async def test_an_edit_killed_mid_stream_is_reported_interrupted_and_never_sent_again(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(2)
    async with Client(workspace.params(NEMO_TOOL_WAIT="0.5"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 5.0})
        first = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        assert first["status"] == "running"
        await wait_for(lambda: handoffs(workspace.config) == 1)  # written before it went out
        await turn_running(workspace)  # the stream is in flight
        pids = _server_pids(workspace.config)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    [record] = jobs(workspace.config)
    assert record["status"] == "running"  # the dead process could not say otherwise

    # Restarted at once: the backend is still working on the message nobody reads any more.
    async with Client(workspace.params(NEMO_RECOVERY_WAIT="1"), mode="legacy") as client:
        told = structured(await client.call_tool("send_edit", {"message": "status"}))
        later = structured(await client.call_tool("get_timeline", {}))
    assert told["status"] == "interrupted", told
    assert told["job_id"] == first["job_id"]
    assert "not sent again" in told["reply"]
    assert told["changes"] and "no change" not in told["reply"], told  # it landed meanwhile
    assert not [j for j in later["jobs"] if j["status"] in ("running", "queued")]
    await backend_idle(workspace)  # a request is counted once its answer has ended
    assert workspace.backend.stats.count("run_sse") == 1
    [record] = jobs(workspace.config)
    assert (record["status"], record["reported"]) == ("interrupted", 1)


async def test_two_processes_asking_for_the_same_result_tell_it_once(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(2)
    params = workspace.params(NEMO_TOOL_WAIT="0.5")
    async with Client(params, mode="legacy") as one, Client(params, mode="legacy") as two:
        structured(await one.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 1.0})
        started = structured(
            await one.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        assert started["status"] == "running"
        await wait_for(lambda: [j["status"] for j in jobs(workspace.config)] == ["done"])
        answers: list[dict[str, Any]] = []

        async def ask(client: Client) -> None:
            answers.append(structured(await client.call_tool("send_edit", {"message": "status"})))

        async with anyio.create_task_group() as tg:
            for client in (one, two, one, two):
                tg.start_soon(ask, client)
    told = [a for a in answers if a.get("job_id") == started["job_id"]]
    assert len(told) == 1, answers
    assert "2 photos" in told[0]["reply"] or told[0]["changes"]
    assert workspace.backend.stats.count("run_sse") == 1


@needs_proc
async def test_two_processes_noticing_a_dead_export_resume_it_once(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """The export's server is killed mid-render; two servers then ask for it at once: one takes
    it over and polls the same render, both get the MP4, and nothing is rendered twice. (This
    holds the single restart's case too: a killed server's render is resumed, not rendered
    again, and lands whole.)"""
    images = photos(3)
    async with Client(workspace.params(NEMO_TOOL_WAIT="0.5"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        workspace.env["NEMO_POLL_INTERVAL"] = "3"
        first = structured(await client.call_tool("export_video", {}))
        assert first["status"] == "running"
        await wait_for(lambda: workspace.backend.stats.count("render_submit") == 1)
        for pid in _server_pids(workspace.config):
            os.kill(pid, signal.SIGKILL)
    workspace.env["NEMO_POLL_INTERVAL"] = "0.2"
    # Every backend answer now takes a while, so the export the first server to start takes
    # over is surely still going when both ask (asking needs no backend call: both join it).
    workspace.backend.faults.update({"slow_ms": 1500})
    answers: list[dict[str, Any]] = []
    connected = 0
    both = anyio.Event()

    async def server_asks() -> None:
        nonlocal connected
        async with Client(workspace.params(), mode="legacy") as client:
            connected += 1
            if connected == 2:
                both.set()
            await both.wait()
            answers.append(structured(await client.call_tool("export_video", {})))

    async with anyio.create_task_group() as tg:  # both servers start at once, then both ask
        tg.start_soon(server_asks)
        tg.start_soon(server_asks)
    assert [a["status"] for a in answers] == ["done", "done"], answers
    assert {a["path"] for a in answers} == {answers[0]["path"]}
    assert workspace.backend.stats.count("render_submit") == 1
    assert len(list(workspace.out.glob("*.mp4"))) == 1
    assert read_mp4(Path(answers[0]["path"]))["video_codec"] == "h264"


async def test_a_queued_edit_waited_for_tells_the_earlier_result_first(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """Nobody asked about the first edit (its server's call handed off) while the second waited
    behind it in another server: the second's answer tells both, in order, and neither is told
    again."""
    images = photos(2)
    quick, patient = workspace.params(NEMO_TOOL_WAIT="0.5"), workspace.params()
    async with Client(quick, mode="legacy") as one, Client(patient, mode="legacy") as two:
        structured(await one.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 1.5})
        first = structured(
            await one.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        assert first["status"] == "running"
        second = structured(await two.call_tool("send_edit", {"message": "add the title 'B'"}))
        after = structured(await two.call_tool("send_edit", {"message": "status"}))
    assert second["status"] == "done", second
    reply = second["reply"]
    assert "turn these photos into a video" in reply and "add the title 'B'" in reply, reply
    assert reply.index("turn these photos") < reply.index("add the title")
    assert "turn these photos" not in after["reply"] and after.get("job_id") is None
    assert [j["reported"] for j in jobs(workspace.config)] == [1, 1]
    assert workspace.backend.stats.count("run_sse") == 2
