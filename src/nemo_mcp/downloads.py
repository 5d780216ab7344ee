"""Putting the exported MP4 on the user's disk: the folder checked first, the file written whole.

The folder is checked before a render is submitted (it exists or can be made, it is a folder, it
can be written, it has room), so a bad folder costs no render and names itself. The download
streams to a hidden temporary name beside the target, must be an MP4 of every announced byte, is
synced, and is put in place without overwriting anything (``name (2).mp4``). A cancelled or
broken download leaves nothing behind; temporary files a killed server left are removed once
they are clearly abandoned.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import FolderUnusable, ServerFault
from nemo_mcp.files import place_new

CHUNK = 1024 * 1024
ROOM_MARGIN = 64 * 1024 * 1024
BYTES_PER_SECOND = 1_500_000
"""A generous bitrate for a 1080x1920 H.264 export, to tell whether a folder has room."""
STALE_PART_S = 3600

Progress = Callable[[int, int | None], Awaitable[None]]


def room_needed(duration_ms: int) -> int:
    return ROOM_MARGIN + duration_ms * BYTES_PER_SECOND // 1000


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.0f} MB"


def check_folder(folder: Path, need_bytes: int) -> None:
    """Raise ``FolderUnusable`` (naming the folder and why) unless the MP4 can be saved there."""
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            problem = "it is a file, not a folder" if part == folder else f"{part} is a file"
            raise FolderUnusable(folder, problem)
        if part.exists():
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FolderUnusable(folder, f"it can't be created ({exc.strerror})") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise FolderUnusable(folder, f"it can't be written ({exc.strerror})") from None
    free = shutil.disk_usage(folder).free
    if free < need_bytes:
        raise FolderUnusable(
            folder, f"it has {_mb(free)} free and the video needs about {_mb(need_bytes)}"
        )


def remove_stale_parts(folder: Path) -> None:
    """Temporary files a killed server could not clean up, once they are clearly abandoned."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_PART_S
    for part in folder.glob(".*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()


async def save_video(
    client: BackendClient, url: str, dest: Path, *, progress: Progress | None = None
) -> Path:
    """Stream ``url`` to a temporary file beside ``dest``, then put it in place (never over a
    file the user has: ``dest (2)``). Returns where it landed."""
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        async with client.open_download(url) as response:
            length = response.headers.get("content-length", "")
            total = int(length) if length.isdigit() else None
            written = 0
            async with await anyio.open_file(tmp, "xb") as f:
                async for chunk in response.aiter_bytes(CHUNK):
                    if written == 0 and b"ftyp" not in chunk[:16]:
                        raise ServerFault("the download was not an MP4 file")
                    await f.write(chunk)
                    written += len(chunk)
                    if progress:
                        await progress(written, total)
                await f.flush()
                await anyio.to_thread.run_sync(os.fsync, f.wrapped.fileno())
        on_disk = tmp.stat().st_size
        if on_disk != written:  # a short write the file system did not report
            raise OSError(errno.ENOSPC, f"{on_disk} of {written} bytes reached the disk")
        if written == 0 or (total is not None and written != total):
            raise ServerFault(f"the download was incomplete ({written} of {total or '?'} bytes)")
        return place_new(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
