"""The server as a user's MCP client meets it: a subprocess over stdio, a real backend."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mcp import Client

from nemo_local import RunningBackend
from nemo_mcp.manifests import load_manifests
from tests.e2e.conftest import (
    CANVAS,
    MakeMedia,
    Progress,
    Workspace,
    error_text,
    read_mp4,
    structured,
)

TOOLS = {"upload_media", "send_edit", "get_timeline", "export_video", "check_credits"}
REQUEST = "turn these photos into a video with transitions and add this song at 30%"


def _increasing(values: list[float]) -> bool:
    return len(values) >= 3 and all(b > a for a, b in zip(values, values[1:], strict=False))


async def test_lists_five_tools_with_schemas_annotations_and_a_small_footprint(
    workspace: Workspace,
) -> None:
    """The listing of tools and prompts, then the router's own answers, from one process."""
    backend: RunningBackend = workspace.backend
    async with Client(workspace.params(), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        listing = await client.list_tools()
        # The prompts are the skill's manifest examples, and each one reads back.
        prompts = (await client.list_prompts()).prompts
        first = await client.get_prompt(prompts[0].name)
        # Router words never reach the message stream: the server answers them itself.
        credits = structured(await client.call_tool("send_edit", {"message": "还剩多少积分"}))
        tracks = structured(await client.call_tool("send_edit", {"message": "show tracks"}))
        export = await client.call_tool("send_edit", {"message": "export it"})
        upload = structured(await client.call_tool("send_edit", {"message": "upload"}))
        balance = structured(await client.call_tool("check_credits", {}))
    tools = {t.name: t for t in listing.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.description and tool.title
        assert tool.annotations is not None
    assert tools["get_timeline"].annotations.read_only_hint is True
    assert tools["check_credits"].annotations.read_only_hint is True
    edit = tools["send_edit"].annotations
    assert edit.read_only_hint is False and edit.open_world_hint is True
    assert tools["upload_media"].annotations.read_only_hint is False
    assert tools["export_video"].annotations.read_only_hint is False
    assert "Picture to Video AI" in tools["send_edit"].description
    assert "200 MB" in tools["upload_media"].description
    wire = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True)
                       for t in listing.tools])  # fmt: skip
    assert len(wire) < 6000, f"tools/list is {len(wire)} characters"

    titles = {p.title for p in prompts}
    assert titles == set(load_manifests()["picture-to-video-ai"].examples)
    assert "turn my photos into a smooth animated video with transitions" in titles
    assert len(prompts) == 3
    assert first.messages[0].content.text in titles  # type: ignore[union-attr]

    assert credits["intent"] == "credits" and "credits available" in credits["reply"]
    assert tracks["intent"] == "state" and tracks["reply"].startswith("Timeline (0 tracks)")
    assert "nothing to export" in error_text(export)
    assert upload["intent"] == "upload" and "upload_media" in upload["reply"]
    assert balance["available"] == balance["total"] - balance["frozen"]
    assert backend.stats.count("run_sse") == 0
    assert backend.stats.count("render_submit") == 0


async def test_upload_edit_timeline_export_and_read_the_mp4_back(
    workspace: Workspace, photos: MakeMedia
) -> None:
    from nemo_mcp.samples import make_tune

    images = photos(3)
    tune = make_tune(workspace.media / "tune.wav", seconds=12)
    edit_progress, export_progress = Progress(), Progress()
    errlog = workspace.root / "server-stderr.txt"
    params = workspace.params(stderr_to=errlog, NEMO_LOG_LEVEL="DEBUG")
    async with Client(params, mode="legacy") as client:
        up = structured(
            await client.call_tool("upload_media", {"paths": [str(p) for p in [*images, tune]]})
        )
        assert [u["name"] for u in up["uploaded"]] == ["p0.jpg", "p1.jpg", "p2.jpg", "tune.wav"]
        assert up["rejected"] == []
        assert up["uploaded"][0]["type"] == "jpg" and up["uploaded"][3]["type"] == "wav"

        edit = structured(
            await client.call_tool(
                "send_edit", {"message": REQUEST}, progress_callback=edit_progress
            )
        )
        assert edit["status"] == "done" and edit["intent"] == "edit"
        assert "Click" not in edit["reply"]
        assert edit["timeline"].startswith("Timeline (2 tracks): 1. Video:")
        assert any("BGM" in c for c in edit["changes"])

        timeline = structured(await client.call_tool("get_timeline", {}))
        assert timeline["ready"] is True
        assert timeline["summary"].endswith("2. BGM: tune.wav (0-9s, 30%)")
        assert [t["kind"] for t in timeline["tracks"]] == ["video", "audio"]
        assert timeline["duration_ms"] == 9000

        resource = await client.read_resource("nemo://timeline/current")
        body = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
        assert body["summary"] == timeline["summary"] and body["draft"]["t"]

        exported = await client.call_tool("export_video", {}, progress_callback=export_progress)
        export = structured(exported)
        while export["status"] == "running":  # a loaded machine: ask again, as an assistant does
            exported = await client.call_tool("export_video", {})
            export = structured(exported)
        credits = await client.call_tool("check_credits", {})
    assert export["status"] == "done"
    path = Path(export["path"])
    assert path.parent == workspace.out and path.suffix == ".mp4"
    assert export["bytes"] == path.stat().st_size
    assert export["link"] and "/workspace/claim?ct=" in export["link"]
    facts = read_mp4(path)
    assert facts["video_codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["audio_codec"] == "aac"
    assert (facts["width"], facts["height"]) == CANVAS
    assert abs(facts["duration_s"] - 9.0) < 0.2
    assert _increasing(edit_progress), edit_progress
    assert _increasing(export_progress), export_progress
    assert [p.name for p in workspace.out.iterdir()] == [path.name], "no temporary files left"
    progress = [*edit_progress.messages, *export_progress.messages]
    said = [up, edit, timeline, resource, exported, credits, progress]
    assert_the_token_stays_in_its_cache(workspace, errlog, said)


def assert_the_token_stays_in_its_cache(
    workspace: Workspace, errlog: Path, results: list[object]
) -> None:
    """The anonymous token is in its 0600 cache and nowhere in what was said or logged (at
    DEBUG), checked on the whole journey's results (tests/reliability/test_secrets.py holds the
    same promise against a backend that quotes the token back)."""
    cache = workspace.config / "state.db"
    assert cache.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(cache) as db:
        (token,) = db.execute("SELECT token FROM tokens").fetchone()
    assert token.startswith("nmv_usr_")
    everything = json.dumps(
        [r.model_dump(mode="json") if hasattr(r, "model_dump") else r for r in results],
        ensure_ascii=False,
    )
    logs = errlog.read_text() + (workspace.config / "nemo-mcp.log").read_text()
    assert logs, "the server did log"
    for place in (everything, logs):
        assert token not in place
    assert "nmv_usr_" not in everything


async def test_a_silent_edit_and_a_dropped_stream_are_answered_from_the_state(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """One server: an edit whose stream says nothing is told from the state diff; then an edit
    whose stream drops is told from the state too, without sending the message again."""
    images = photos(1)
    async with Client(workspace.params(), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(images[0])]}))
        structured(await client.call_tool("send_edit", {"message": "animate this image"}))
        workspace.backend.faults.update({"silent_next": True, "talkative": False})
        silent = structured(
            await client.call_tool("send_edit", {"message": "add the title 'Paradise Found'"})
        )
        workspace.backend.faults.all_off()
        workspace.backend.stats.reset()
        workspace.backend.faults.update({"drop_next_stream": True})
        dropped = structured(
            await client.call_tool("send_edit", {"message": "add the caption 'by the sea'"})
        )
    assert silent["status"] == "done"
    assert "Title added: 'Paradise Found' (0-3s)" in silent["reply"]
    assert silent["changes"] == ["Title added: 'Paradise Found' (0-3s)"]
    assert dropped["status"] == "done"
    assert dropped["reply"].startswith("The connection dropped, but the edit landed")
    assert workspace.backend.stats.count("run_sse") == 1
