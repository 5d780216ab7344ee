"""Bad input gets plain words naming the problem and the fix, and the backend sees nothing."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.conftest import MakeMedia, Workspace, error_text, structured

BACKEND_WORK = ("upload", "run_sse", "render_submit", "anonymous_token", "session_create")


def _outside(workspace: Workspace) -> Path:
    other = workspace.root / "elsewhere"
    other.mkdir(exist_ok=True)
    from nemo_mcp.samples import make_photo

    return make_photo(other / "outside.jpg", 0, (64, 64))


CASES = {
    "missing-file": (lambda ws: {"paths": [str(ws.media / "nope.jpg")]}, ["no file", "path"]),
    "a-directory": (lambda ws: {"paths": [str(ws.media)]}, ["is a folder", "files inside"]),
    "outside-roots": (lambda ws: {"paths": [str(_outside(ws))]}, ["outside the folders",
                                                                   "NEMO_MEDIA_ROOTS"]),
    "text-renamed-jpg": (lambda ws: {"paths": [str(_text_as_jpg(ws))]},
                         ["not a photo, video or audio", "Accepted types"]),
    "over-the-limit": (lambda ws: {"paths": [str(_huge(ws))]}, ["over the 200 MB limit",
                                                                "Trim or compress"]),
    "wrong-type-for-skill": (lambda ws: {"paths": [str(_mp4(ws))]}, ["MP4 file",
                                                                     "Accepted types"]),
    "hidden-file": (lambda ws: {"paths": [str(_hidden(ws))]}, ["hidden"]),
    "relative-path": (lambda ws: {"paths": ["photos/a.jpg"]}, ["relative path", "full path"]),
    "ftp-url": (lambda ws: {"urls": ["ftp://example.com/a.jpg"]}, ["ftp://", "http"]),
    "nothing-given": (lambda ws: {}, ["Nothing to upload", "paths"]),
}  # fmt: skip


def _text_as_jpg(ws: Workspace) -> Path:
    path = ws.media / "notes.jpg"
    path.write_text("these are my holiday notes, not a picture\n" * 20)
    return path


def _huge(ws: Workspace) -> Path:
    path = ws.media / "huge.jpg"
    with path.open("wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + b"\0" * 60)
        f.truncate(201 * 1024 * 1024)  # sparse: no disk used
    return path


def _mp4(ws: Workspace) -> Path:
    path = ws.media / "clip.mp4"
    path.write_bytes(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2" + b"\0" * 100)
    return path


def _hidden(ws: Workspace) -> Path:
    folder = ws.media / ".secret"
    folder.mkdir()
    from nemo_mcp.samples import make_photo

    return make_photo(folder / "a.jpg", 0, (64, 64))


async def test_bad_input_over_stdio_gets_plain_words_and_costs_nothing(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """One server process answers every kind of bad input in turn (the rules themselves are
    tested in memory: tests/tools, tests/reliability/test_files.py); here the words must cross
    the real stdio framing, and the backend must see nothing until the one good file."""
    link = workspace.media / "link.jpg"
    os.symlink(_outside(workspace), link)
    not_a_folder = workspace.root / "file.txt"
    not_a_folder.write_text("x")
    refused: dict[str, tuple[str, dict[str, object], list[str]]] = {
        f"upload: {case}": ("upload_media", make_args(workspace), words)
        for case, (make_args, words) in sorted(CASES.items())
    }
    refused["upload: a symlink out of the roots"] = (
        "upload_media", {"paths": [str(link)]}, ["outside the folders"])  # fmt: skip
    for message in ["", "   ", "\n\t"]:
        refused[f"edit: {message!r}"] = (
            "send_edit", {"message": message}, ["The message is empty", "for example"])  # fmt: skip
    refused["export: to a file"] = (
        "export_video", {"output_dir": str(not_a_folder)}, ["is a file, not a folder"])  # fmt: skip

    wrong: dict[str, str] = {}
    async with workspace.serve() as client:
        for case, (tool, args, words) in refused.items():
            text = error_text(await client.call_tool(tool, args))
            if not all(word in text for word in words) or "Traceback" in text:
                wrong[case] = text
        for route in BACKEND_WORK:
            assert workspace.backend.stats.count(route) == 0, route

        good = photos(1)[0]
        mixed = structured(
            await client.call_tool(
                "upload_media", {"paths": [str(good), str(_text_as_jpg(workspace))]}
            )
        )
    assert wrong == {}, wrong
    assert [u["name"] for u in mixed["uploaded"]] == ["p0.jpg"]
    assert [r["name"] for r in mixed["rejected"]] == ["notes.jpg"]
    assert workspace.backend.stats.count("upload") == 1


async def test_unknown_skill_exits_with_the_list(workspace: Workspace) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "serve", "--skill", "nope"],
        capture_output=True, text=True, timeout=60, env=workspace.params().env,
    )  # fmt: skip
    assert done.returncode != 0
    assert "unknown skill 'nope'" in done.stderr and "lipsyncvideo-ai" in done.stderr
    assert done.stdout == ""
