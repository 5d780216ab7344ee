"""A contact sheet: six frames of an exported MP4 in one small JPEG, so the assistant can look at
what was made (and say whether it matches what was asked) without a video player.

One FFmpeg run seeks to each moment on its own input (fast, whatever the video's length) and
stacks the frames in a grid with thin gaps. Blocking: call ``contact_sheet`` from a worker thread.
Anything wrong (no FFmpeg, a file FFmpeg can't read, a sheet too big) is simply no sheet: the
export's result is complete without it.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from nemo_media.ffmpeg import FFmpegMissing, find_ffmpeg, inspect

log = logging.getLogger(__name__)

FRAMES = 6
COLUMNS = 3
TILE = 240
"""Each frame fits a TILE x TILE box: a 9:16 video gives a 405x480 sheet, a 16:9 one 720x270."""
GAP = 4
MAX_BYTES = 100_000
QUALITIES = (5, 9, 15)
"""FFmpeg's JPEG quantiser (2 best, 31 worst), tried in turn until the sheet is small enough."""
TIMEOUT_S = 20.0
BACKGROUND = "0x1b1d22"


def frame_times(duration_ms: int, count: int = FRAMES) -> list[float]:
    """Evenly spread moments (seconds), each in the middle of its share of the video. Pure."""
    return [duration_ms * (i + 0.5) / count / 1000 for i in range(count)]


def tile_size(width: int, height: int, box: int = TILE) -> tuple[int, int]:
    """The frame scaled to fit ``box`` x ``box``, in even pixels (what the encoder needs). Pure."""
    scale = box / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def sheet_filter(count: int, tile: tuple[int, int], columns: int = COLUMNS) -> str:
    """The filter graph: the first frame of each input, scaled, laid out in a grid. Pure."""
    width, height = tile
    chains = [
        f"[{i}:v]trim=end_frame=1,setpts=PTS-STARTPTS,scale={width}:{height},setsar=1[f{i}]"
        for i in range(count)
    ]
    cells = [
        f"{GAP + (i % columns) * (width + GAP)}_{GAP + (i // columns) * (height + GAP)}"
        for i in range(count)
    ]
    rows = -(-count // columns)
    pad_w, pad_h = GAP + min(count, columns) * (width + GAP), GAP + rows * (height + GAP)
    stack = (
        "".join(f"[f{i}]" for i in range(count))
        + f"xstack=inputs={count}:layout={'|'.join(cells)}:fill={BACKGROUND},"
        + f"pad={pad_w}:{pad_h}:0:0:color={BACKGROUND},format=yuvj420p[sheet]"
    )
    return ";".join([*chains, stack])


def sheet_command(
    ffmpeg: str, path: Path, times: list[float], tile: tuple[int, int], q: int
) -> list[str]:
    inputs: list[str] = []
    for moment in times:
        inputs += ["-ss", f"{moment:.3f}", "-i", f"file:{path.resolve()}"]
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *inputs,
        "-filter_complex", sheet_filter(len(times), tile), "-map", "[sheet]",
        "-frames:v", "1", "-c:v", "mjpeg", "-q:v", str(q), "-f", "image2pipe", "pipe:1",
    ]  # fmt: skip


def contact_sheet(path: Path, frames: int = FRAMES) -> bytes | None:
    """A JPEG of ``frames`` moments of the video at ``path`` (at most ``MAX_BYTES``), or None."""
    try:
        ffmpeg = find_ffmpeg()
        facts = inspect(path, ffmpeg)
        if not (facts.duration_ms and facts.width and facts.height):
            return None
        times = frame_times(facts.duration_ms, frames)
        tile = tile_size(facts.width, facts.height)
        for q in QUALITIES:
            done = subprocess.run(
                sheet_command(ffmpeg, path, times, tile, q),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0 or not done.stdout.startswith(b"\xff\xd8"):
                log.info("no contact sheet: FFmpeg exited with %d", done.returncode)
                return None
            if len(done.stdout) <= MAX_BYTES:
                return done.stdout
    except FFmpegMissing:
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("no contact sheet: %s", type(exc).__name__)
    return None
