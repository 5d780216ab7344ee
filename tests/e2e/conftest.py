"""End to end: ``nemo-mcp serve`` as a subprocess over stdio, driven by the SDK's own client with
the handshake real clients use, against the embedded local backend on a real loopback port."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pytest
from mcp import Client, StdioServerParameters

from nemo_local import RunningBackend
from tests.embedded import STDIO_CANVAS

CANVAS = STDIO_CANVAS
WEB_URL = "https://web.nemo.test"
"""The web app the links point to (registration, claiming a project)."""
REDIRECTED = (
    "import os, sys; fd = os.open({path!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND); "
    "os.dup2(fd, 2); from nemo_mcp.cli import main; "
    "sys.exit(main(['serve', '--skill', {skill!r}] if {skill!r} else ['serve']))"
)


@pytest.fixture
def embedded_variant() -> str:
    return "stdio"


@dataclass
class Workspace:
    root: Path
    backend: RunningBackend
    env: dict[str, str] = field(default_factory=dict)

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def config(self) -> Path:
        return self.root / "config"

    def params(
        self, skill: str | None = "picture-to-video-ai", stderr_to: Path | None = None, **env: str
    ) -> StdioServerParameters:
        """``skill=None``: the server of every skill (``serve`` without ``--skill``)."""
        full = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.root / "home"),
            "NEMO_API_URL": self.backend.url,
            # A web address of its own, as a deployment with its own web app has: links are shown
            # (with a loopback API and the default web address they would point nowhere).
            "NEMO_WEB_URL": WEB_URL,
            "NEMO_CONFIG_DIR": str(self.config),
            "NEMO_OUTPUT_DIR": str(self.out),
            "NEMO_MEDIA_ROOTS": str(self.media),
            "NEMO_POLL_INTERVAL": "0.2",
            "NEMO_RECOVERY_WAIT": "0.3",
            "NEMO_TOOL_WAIT": "30",
            **self.env,
            **env,
        }
        args = ["-m", "nemo_mcp", "serve", *(["--skill", skill] if skill else [])]
        if stderr_to is not None:
            # The same command, with the child's stderr (fd 2) in a file the test can read.
            args = ["-c", REDIRECTED.format(path=str(stderr_to), skill=skill)]
        return StdioServerParameters(command=sys.executable, args=args, env=full)

    def serve(self, skill: str = "picture-to-video-ai", **env: str) -> Client:
        """The stdio server helper: ``async with workspace.serve(**env) as client`` starts
        ``nemo-mcp serve`` as a subprocess and connects the SDK's client with the handshake real
        clients use. One process can answer many checks: start one per promise, not per case."""
        return Client(self.params(skill, **env), mode="legacy")


@pytest.fixture
def workspace(tmp_path: Path, embedded_backend: RunningBackend) -> Workspace:
    """A user's folders (media, out, config, home) and ``params()`` to start a stdio server on
    the embedded backend; the backend's variant is the folder's (``stdio`` here)."""
    ws = Workspace(tmp_path, embedded_backend)
    ws.media.mkdir()
    (tmp_path / "home").mkdir()
    return ws


def run_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``nemo-mcp ARGS`` run by the command's own function (``cli.main``) in this process, with
    exactly ``env`` as its environment and its output captured: for commands whose process
    boundary is not under test (a subprocess would only add an interpreter start)."""
    from nemo_mcp.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, [getattr(c, "text", c) for c in result.content]
    data: dict[str, Any] = result.structured_content
    return data


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(c, "text", "") for c in result.content)


class Progress(list[float]):
    """Collects progress values; the callback shape the SDK expects."""

    messages: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.append(progress)
        self.messages.append(message or "")


def read_mp4(path: Path) -> dict[str, Any]:
    """What the file really holds, decoded by PyAV (FFmpeg's libraries)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "video_codec": video.codec_context.name,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "pix_fmt": video.codec_context.format.name if video.codec_context.format else None,
            "audio_codec": audio.codec_context.name if audio else None,
            "duration_s": float(container.duration or 0) / 1_000_000,
            "frames": frames,
        }


MakeMedia = Callable[..., list[Path]]


@pytest.fixture
def photos(workspace: Workspace) -> MakeMedia:
    from nemo_mcp.samples import make_photo

    def make(count: int = 3) -> list[Path]:
        return [make_photo(workspace.media / f"p{i}.jpg", i, (320, 480)) for i in range(count)]

    return make
