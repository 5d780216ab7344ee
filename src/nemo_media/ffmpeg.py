"""Finding FFmpeg and reading what a media file holds (``ffmpeg -i``'s stream list).

FFmpeg comes from the ``[local]`` extra (imageio-ffmpeg bundles a static binary), else from the
PATH. Reading a file is blocking: call ``inspect`` from a worker thread in async code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_ADVICE = "pip install 'nemo-mcp[local]'"
INSPECT_TIMEOUT_S = 30

_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+[^:]*: (Video|Audio): ([^\n]*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")


class FFmpegMissing(RuntimeError):
    """No FFmpeg could be found; the message says how to install one."""


@dataclass(frozen=True)
class MediaFacts:
    duration_ms: int | None
    video_codec: str | None
    width: int | None
    height: int | None
    pix_fmt: str | None
    audio_codec: str | None

    def describe(self) -> str:
        parts = []
        if self.video_codec:
            parts.append(
                f"{self.video_codec} {self.width}x{self.height} {self.pix_fmt or ''}".strip()
            )
        if self.audio_codec:
            parts.append(f"{self.audio_codec} audio")
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms / 1000:.1f} s")
        return ", ".join(parts) or "no audio or video streams"


def find_ffmpeg() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise FFmpegMissing(f"FFmpeg is not installed; install it with {INSTALL_ADVICE}")


def parse_streams(text: str) -> MediaFacts:
    """Facts from ``ffmpeg -i`` output. Pure."""
    duration = None
    if match := _DURATION.search(text):
        hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
        duration = round((hours * 3600 + minutes * 60 + seconds) * 1000)
    video = audio = pix_fmt = None
    width = height = None
    for kind, rest in _STREAM.findall(text):
        codec = rest.split(",")[0].split()[0] if rest.strip() else None
        if kind == "Video" and video is None and "attached pic" not in rest:
            video = codec
            fields = [f.strip() for f in rest.split(",")]
            pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else None
            if size := _SIZE.search(rest):
                width, height = int(size[1]), int(size[2])
        elif kind == "Audio" and audio is None:
            audio = codec
    return MediaFacts(duration, video, width, height, pix_fmt, audio)


def stream_info(path: Path, ffmpeg: str | None = None) -> str:
    """What ``ffmpeg -i`` says about ``path`` (its stderr); blocking.

    Raises ``FFmpegMissing``, ``OSError`` or ``subprocess.TimeoutExpired``.
    """
    done = subprocess.run(
        [ffmpeg or find_ffmpeg(), "-hide_banner", "-nostdin", "-i", f"file:{path.resolve()}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=INSPECT_TIMEOUT_S,
        check=False,
    )
    return done.stderr.decode("utf-8", "replace")


def inspect(path: Path, ffmpeg: str | None = None) -> MediaFacts:
    """What ``path`` holds; blocking (see ``stream_info`` for what it raises)."""
    return parse_streams(stream_info(path, ffmpeg))
