"""Media durations, best effort: the agent sizes a dub or a talking photo by its audio.

WAV is read with the standard library; other audio and video ask FFmpeg (the ``[local]`` extra's
bundled binary, else one on PATH). Blocking: call it in a worker thread. Unknown is ``None``,
never an error (the agent then uses its defaults).
"""

from __future__ import annotations

import contextlib
import subprocess
import wave
from pathlib import Path

from nemo_media.ffmpeg import FFmpegMissing, inspect


def duration_ms(path: Path, kind: str) -> int | None:
    """The length of an audio or video file in ms, or None when it cannot be told."""
    if kind == "image":
        return None
    if path.suffix.lower() == ".wav":
        with contextlib.suppress(wave.Error, EOFError, OSError), wave.open(str(path)) as w:
            rate = w.getframerate()
            return round(w.getnframes() * 1000 / rate) if rate else None
    try:
        return inspect(path).duration_ms
    except (FFmpegMissing, OSError, subprocess.TimeoutExpired):
        return None
