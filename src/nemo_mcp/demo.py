"""``nemo-mcp demo``: the whole product on this machine, with no account and no network.

It starts ``nemo-mcp serve --local`` as a subprocess, talks to it over stdio with the MCP SDK's
own client (the handshake Claude Desktop uses), and does what a user would: upload three photos
and a tune it makes, ask for a video with transitions and music, read the timeline, export, and
check the MP4 with FFmpeg. It prints each step and ends with the file's path.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from nemo_mcp.samples import make_photo, make_tune
from nemo_media.ffmpeg import inspect

SKILL = "picture-to-video-ai"
REQUEST = "turn these photos into a video with transitions and add this song at 30%"
Say = Callable[[str], None]


def _structured(result: Any, step: str) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise RuntimeError(f"{step} failed: {text}")
    data: dict[str, Any] = result.structured_content or {}
    return data


async def run_demo(output_dir: Path, say: Say, *, canvas: str | None = None) -> Path:
    with tempfile.TemporaryDirectory(prefix="nemo-demo-") as work:
        workdir = Path(work)
        say("1/6  Making sample media: three photos and a 10-second tune")
        media = [make_photo(workdir / "media" / f"photo-{i + 1}.jpg", i) for i in range(3)]
        media.append(make_tune(workdir / "media" / "tune.wav"))
        env = {
            **os.environ,
            "NEMO_CONFIG_DIR": str(workdir / "config"),
            "NEMO_OUTPUT_DIR": str(output_dir),
            "NEMO_MEDIA_ROOTS": str(workdir / "media"),
            "NEMO_POLL_INTERVAL": "0.5",
            "NEMO_TOOL_WAIT": "40",
        }
        env.setdefault("NEMO_LOG_LEVEL", "WARNING")
        env.pop("NEMO_TOKEN", None)
        env.pop("NEMO_API_URL", None)
        if canvas:
            env["NEMO_LOCAL_CANVAS"] = canvas
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "nemo_mcp", "serve", "--skill", SKILL, "--local"],
            env=env,
        )
        say(f"2/6  Starting the MCP server ({SKILL}) with the embedded local backend")
        async with Client(params, mode="legacy") as client:
            tools = await client.list_tools()
            say(f"     connected; tools: {', '.join(t.name for t in tools.tools)}")
            say("3/6  upload_media: " + ", ".join(p.name for p in media))
            uploaded = _structured(
                await client.call_tool("upload_media", {"paths": [str(p) for p in media]}),
                "upload_media",
            )
            say(f"     uploaded {len(uploaded['uploaded'])} files")
            say(f'4/6  send_edit: "{REQUEST}"')
            edit = _structured(
                await client.call_tool("send_edit", {"message": REQUEST}), "send_edit"
            )
            while edit["status"] in ("running", "queued"):
                edit = _structured(
                    await client.call_tool("send_edit", {"message": "status"}), "send_edit"
                )
            say("     " + edit["reply"].replace("\n", "\n     "))
            timeline = _structured(await client.call_tool("get_timeline", {}), "get_timeline")
            say(f"5/6  get_timeline: {timeline['summary']}")
            say("6/6  export_video: rendering an H.264 MP4 (this takes a little while)")
            started = time.monotonic()

            async def progress(progress: float, total: float | None, message: str | None) -> None:
                say(f"     {progress:5.1f}%  {message or ''}")

            export = _structured(
                await client.call_tool("export_video", {}, progress_callback=progress),
                "export_video",
            )
            while export["status"] == "running":
                export = _structured(
                    await client.call_tool("export_video", {}, progress_callback=progress),
                    "export_video",
                )
            say(f"     rendered and downloaded in {time.monotonic() - started:.0f} s")
    path = Path(export["path"])
    facts = await anyio.to_thread.run_sync(inspect, path)
    say(f"Checked with FFmpeg: {facts.describe()}")
    if facts.video_codec != "h264":
        raise RuntimeError(f"{path} is not an H.264 video ({facts.describe()})")
    return path
