"""``serve --local`` keeps the project: a restart (on another port) continues the same timeline,
and a second server on the same folder shares the running one's backend and project."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import ImageContent, TextContent

from tests.e2e.conftest import CANVAS, MakeMedia, Workspace, read_mp4, structured


def _offline(workspace: Workspace) -> StdioServerParameters:
    """``nemo-mcp serve --local``: the workspace's environment without its shared backend."""
    params = workspace.params(NEMO_LOCAL_CANVAS=f"{CANVAS[0]}x{CANVAS[1]}")
    env = {k: v for k, v in (params.env or {}).items() if k != "NEMO_API_URL"}
    args = ["-m", "nemo_mcp", "serve", "--skill", "picture-to-video-ai", "--local"]
    return StdioServerParameters(command=sys.executable, args=args, env=env)


def _offline_words(result: dict[str, object]) -> dict[str, object]:
    """Offline answers speak of the offline world: no cloud link, price or loopback URL."""
    text = json.dumps(result, ensure_ascii=False)
    for cloud in ("nemovideo.com", "127.0.0.1", "localhost", "register", "top up", "credits ("):
        assert cloud not in text.lower(), (cloud, text)
    return result


async def _export(client: Client, **arguments: object) -> dict[str, object]:
    """Export as an assistant does: call again while it answers 'running' (a loaded machine)."""
    for _ in range(30):
        result = structured(await client.call_tool("export_video", dict(arguments)))
        if result["status"] != "running":
            return result
    raise AssertionError(f"still running: {result}")


def _draft_picture(result: Any) -> bytes:
    """Offline, get_timeline shows the draft: a JPEG contact sheet under 100 KB, said to be one."""
    images = [c for c in result.content if isinstance(c, ImageContent)]
    words = " ".join(c.text for c in result.content if isinstance(c, TextContent))
    assert len(images) == 1 and "picture of the draft" in words, result.content
    data = base64.b64decode(images[0].data)
    assert images[0].mime_type == "image/jpeg" and data[:2] == b"\xff\xd8" and len(data) < 100_000
    return data


async def _edit(client: Client, message: str) -> dict[str, object]:
    result = structured(await client.call_tool("send_edit", {"message": message}))
    assert result["status"] == "done", result
    return _offline_words(result)


async def test_three_edits_and_an_export_then_a_restart_continues_the_same_timeline(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(3)
    data = workspace.config / "local-backend"
    async with Client(_offline(workspace), mode="legacy") as client:
        up = structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        assert len(up["uploaded"]) == 3
        _offline_words(up)
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "~100" not in json.dumps([t.description for t in tools.values()])
        await _edit(client, "turn these photos into a video")
        await _edit(client, "add the title 'Day One'")
        await _edit(client, "add the caption 'by the sea'")
        timeline = await client.call_tool("get_timeline", {})
        before = structured(timeline)
        picture = _draft_picture(timeline)
        first = await _export(client)
        first_url = (data / "backend.url").read_text().strip()
    assert first["status"] == "done", first
    _offline_words(first)
    assert first["url"] is None and first["link"] is None, "the saved file is the result"
    assert not (data / "backend.url").exists(), "the stopped backend no longer advertises a URL"
    saved = json.loads((data / "state.json").read_text())
    assert len(saved["store"]["sessions"]) == 1 and len(saved["renders"]) == 1
    assert first_url.split(":")[-1] not in json.dumps(saved), "no port in the kept state"

    async with Client(_offline(workspace), mode="legacy") as client:
        again = structured(await client.call_tool("get_timeline", {}))
        assert again["summary"] == before["summary"]
        assert "Day One" in again["summary"] and "by the sea" in again["summary"]
        fourth = await _edit(client, "remove the title")
        timeline = await client.call_tool("get_timeline", {})
        after = structured(timeline)
        assert _draft_picture(timeline) != picture, "the picture follows the draft"
        second = await _export(client, download=False)
        credits = structured(await client.call_tool("check_credits", {}))
        second_url = (data / "backend.url").read_text().strip()
        # A second assistant on the same config folder: it uses this server's backend (one
        # owns the data) and edits the one project.
        async with Client(_offline(workspace), mode="legacy") as peer:
            theirs = structured(await peer.call_tool("get_timeline", {}))
            await _edit(peer, "add the title 'Shared'")
        shared = structured(await client.call_tool("get_timeline", {}))
    assert theirs["summary"] == after["summary"]
    assert "Shared" in shared["summary"], "both edit the one project"
    assert second_url != first_url, "the restart got another port (yet found the project)"
    assert fourth["changes"], fourth
    assert "Day One" not in after["summary"] and "by the sea" in after["summary"]
    assert second["status"] == "done", second
    assert second["url"] is None and second["path"], "offline, an export is always saved"
    facts = read_mp4(Path(str(second["path"])))
    assert facts["video_codec"] == "h264" and (facts["width"], facts["height"]) == CANVAS
    assert {p.name for p in workspace.out.iterdir()} == {
        Path(str(first["path"])).name,
        Path(str(second["path"])).name,
    }
    assert credits["available"] > 0
    _offline_words(credits)
    _offline_words(second)
    saved = json.loads((data / "state.json").read_text())
    assert len(saved["store"]["sessions"]) == 1, "the same project, not a new one"
    assert len(saved["store"]["accounts"]) == 1, "the same account, not a new token's"
