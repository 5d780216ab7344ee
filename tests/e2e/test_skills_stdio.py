"""One ``nemo-mcp serve`` of every skill over stdio, against the embedded backend: two skills in
one conversation, each with its own session and headers, and a stop of a running generation."""

from __future__ import annotations

import anyio
from mcp import Client

from nemo_mcp.store import Scope, SQLiteStore
from tests.e2e.conftest import MakeMedia, Workspace, structured

PICTURES, DREAMFACE = "picture-to-video-ai", "dreamface-ai"


async def test_one_server_two_skills_each_with_its_own_session_and_headers(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(3)
    async with Client(workspace.params(skill=None), mode="legacy") as client:
        tools = (await client.list_tools()).tools
        uploaded = structured(
            await client.call_tool("upload_media", {"paths": [str(p) for p in images]})
        )
        slideshow = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a slideshow"})
        )
        unclear = await client.call_tool("send_edit", {"message": "make this photo talk"})
        sing = structured(await client.call_tool("send_edit", {"message": "make my selfie sing"}))
        back = structured(await client.call_tool("get_timeline", {"skill": PICTURES}))
    assert len(tools) == 5 and all("skill" in t.input_schema["properties"] for t in tools)
    assert uploaded["status"] == "done" and slideshow["status"] == "done"
    assert unclear.is_error and "Which skill" in unclear.content[0].text  # type: ignore[union-attr]
    assert sing["status"] == "done"
    assert "3 photos" in back["summary"] or back["tracks"], "the slideshow's project is intact"

    seen = workspace.backend.stats.snapshot()["recent"]
    by_route = {
        route: [r["skill"] for r in seen if r["route"] == route]
        for route in ("upload", "run_sse", "session_create")
    }
    assert set(by_route["upload"]) == {PICTURES}
    assert by_route["run_sse"] == [PICTURES, DREAMFACE], "one message each, nothing for the ask"
    assert sorted(by_route["session_create"]) == [DREAMFACE, PICTURES]
    store = SQLiteStore.in_folder(workspace.config)
    try:
        mine = await store.session(Scope(workspace.backend.url, "", PICTURES))
        theirs = await store.session(Scope(workspace.backend.url, "", DREAMFACE))
    finally:
        await store.close()
    assert mine is not None and theirs is not None and mine.session_id != theirs.session_id


async def test_a_running_generation_is_stopped(workspace: Workspace, photos: MakeMedia) -> None:
    images = photos(2)
    async with Client(workspace.params(skill=None, NEMO_TOOL_WAIT="2"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 20})
        first = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        stopped = structured(await client.call_tool("send_edit", {"message": "stop"}))
        with anyio.fail_after(10):
            timeline = structured(await client.call_tool("get_timeline", {}))
    assert first["status"] == "running"
    assert stopped["status"] == "cancelled" and stopped["job_id"] == first["job_id"]
    assert "may still complete there and be charged" in stopped["reply"]
    assert not any(j["status"] in ("running", "queued") for j in timeline["jobs"])
    store = SQLiteStore.in_folder(workspace.config)
    try:
        record = await store.job(first["job_id"])
    finally:
        await store.close()
    assert record is not None and record.status == "cancelled"
    assert workspace.backend.stats.count("run_sse") == 1
