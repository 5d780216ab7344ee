"""A bad output folder costs nothing and names itself; a render that could not be saved is kept
and saved by the next export, to another folder, after a restart, without rendering again."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from nemo_mcp.store.sqlite import STATE_FILE
from tests.e2e.conftest import MakeMedia, Workspace, error_text, read_mp4, structured


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A small real filesystem at ``folder`` (root only; skipped where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("needs to mount a tmpfs (root with CAP_SYS_ADMIN)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@contextlib.contextmanager
def unusable(kind: str, root: Path) -> Iterator[Path]:
    if kind == "through a file":
        (root / "notes.txt").write_text("x")
        yield root / "notes.txt" / "videos"
    elif kind == "not writable" and os.geteuid() != 0:
        (root / "locked").mkdir(mode=0o500)
        yield root / "locked"
    elif kind == "not writable":  # root writes through permissions: a read-only filesystem
        with tmpfs(root / "locked", "ro,size=1m") as folder:
            yield folder
    else:
        with tmpfs(root / "small", "size=1m") as folder:
            yield folder


UNUSABLE = {
    "through a file": "notes.txt is a file",
    "not writable": "can't be written",
    "no room": "MB free and the video needs about",
}


async def test_an_unusable_folder_is_named_before_anything_is_rendered(
    workspace: Workspace,
) -> None:
    """One server process, the three kinds of unusable folder in turn (each kind is also tested
    in memory, tests/tools/test_export_video.py and tests/reliability/test_edges.py)."""
    wrong: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        folders = {kind: stack.enter_context(unusable(kind, workspace.root)) for kind in UNUSABLE}
        async with workspace.serve() as client:
            for kind, words in UNUSABLE.items():
                folder = folders[kind]
                asked = {"output_dir": str(folder)}
                text = error_text(await client.call_tool("export_video", asked))
                named = f"can't be saved in {folder}" in text and words in text
                if not named or "nothing was rendered" not in text or "unexpected" in text.lower():
                    wrong[kind] = text
    assert wrong == {}, wrong
    assert workspace.backend.stats.count("render_submit") == 0


async def test_a_render_that_could_not_be_saved_is_saved_later_elsewhere_without_rendering(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(3)
    first_folder = workspace.root / "first"
    async with Client(workspace.params(NEMO_POLL_INTERVAL="1"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        async with anyio.create_task_group() as tg:

            async def break_the_folder_once_rendering() -> None:
                with anyio.fail_after(30):
                    while workspace.backend.stats.count("render_submit") == 0:
                        await anyio.sleep(0.02)
                shutil.rmtree(first_folder)
                first_folder.write_text("the folder went away while rendering")

            tg.start_soon(break_the_folder_once_rendering)
            text = error_text(
                await client.call_tool("export_video", {"output_dir": str(first_folder)})
            )
    assert f"could not be saved in {first_folder}" in text
    assert "without rendering again" in text
    with sqlite3.connect(workspace.config / STATE_FILE) as db:
        kept = db.execute("SELECT status, url FROM renders").fetchall()
    assert len(kept) == 1 and kept[0][0] == "completed"

    second_folder = workspace.root / "second"
    async with Client(workspace.params(), mode="legacy") as client:  # a restarted server
        asked = {"output_dir": str(second_folder)}
        done = structured(await client.call_tool("export_video", asked))
    assert done["status"] == "done"
    assert Path(done["path"]).parent == second_folder
    assert read_mp4(Path(done["path"]))["video_codec"] == "h264"
    assert workspace.backend.stats.count("render_submit") == 1
    with sqlite3.connect(workspace.config / STATE_FILE) as db:
        kept = db.execute("SELECT status FROM renders").fetchall()
    assert kept == [("completed",)], "kept for the next export of the same draft, not rendered"


async def test_polling_stops_at_its_cap_keeps_the_render_and_says_when_to_ask_again(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(3)
    capped = workspace.params(NEMO_RENDER_POLLS="1", NEMO_POLL_INTERVAL="7")
    async with Client(capped, mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        going = structured(await client.call_tool("export_video", {}))
    assert going["status"] == "running", going
    assert "still rendering" in going["reply"] and "again in about 7 s" in going["reply"]
    assert workspace.backend.stats.count("render_status") == 1
    with sqlite3.connect(workspace.config / STATE_FILE) as db:
        kept = db.execute("SELECT render_id, status, polls FROM renders").fetchall()
    assert kept == [(going["render_id"], "submitted", 1)]

    async with Client(workspace.params(), mode="legacy") as client:
        done = structured(await client.call_tool("export_video", {}))
    assert done["status"] == "done" and done["render_id"] == going["render_id"]
    assert workspace.backend.stats.count("render_submit") == 1
    assert read_mp4(Path(done["path"]))["video_codec"] == "h264"
