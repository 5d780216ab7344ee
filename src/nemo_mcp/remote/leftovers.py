"""What a killed worker leaves in the shared folder: partial uploads, removed once idle.

An upload is streamed to ``.<name>.part`` and renamed when complete (files.py). A worker killed
mid-upload (``kill -9``, the OOM killer, a lost host) never renames nor removes it; no reference
points at it, but it takes disk space for good. Every worker looks now and then for part files
nothing has written to for ``NEMO_PART_IDLE`` seconds (an upload in progress writes all the
time) and removes them; two workers removing the same file at once is harmless.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import anyio

log = logging.getLogger("nemo_mcp.remote")

EVERY_S = 30.0


def drop_idle_parts(uploads: Path, idle_s: float, now: float | None = None) -> int:
    """Remove part files under ``uploads`` untouched for ``idle_s``; how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    for part in uploads.glob("*/.*.part"):
        try:
            if now - part.stat().st_mtime >= idle_s:
                os.unlink(part)
                removed += 1
        except FileNotFoundError:
            continue  # finished, or removed by another worker, meanwhile
    return removed


async def tidy(data_dir: Path, idle_s: float, every: float = EVERY_S) -> None:
    """Look for idle part files every ``every`` s, or twice per ``idle_s`` when that is
    sooner (an abandoned part is then gone within 1.5 x ``idle_s``), forever."""
    while True:
        removed = await anyio.to_thread.run_sync(drop_idle_parts, data_dir / "uploads", idle_s)
        if removed:
            log.info("removed %d partial upload(s) a stopped worker left", removed)
        await anyio.sleep(min(every, idle_s / 2))
