"""Run FFmpeg and note its own peak memory and CPU seconds: ``render.py`` points the renderer
at a two-line shell script that execs this file instead of FFmpeg.

Why not the render process's ``RUSAGE_CHILDREN``: a child started with vfork records its
parent's peak as its own when it execs, so once the renderer itself holds frames, every FFmpeg
it starts would "peak" at the renderer's size. Here the parent is this small process.
Environment: ``NEMO_BENCH_FFMPEG`` (the real executable), ``NEMO_BENCH_FFMPEG_LOG`` (a file
that gets one ``max_rss_kib cpu_seconds`` line per run).
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    real = os.environ["NEMO_BENCH_FFMPEG"]
    pid = os.posix_spawn(real, [real, *sys.argv[1:]], dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    with open(os.environ["NEMO_BENCH_FFMPEG_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.3f}\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    raise SystemExit(main())
