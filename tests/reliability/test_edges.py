"""Foreseeable conditions get their own words, never "Something unexpected went wrong", and a few
fault cells run over real stdio (a subprocess, the SDK's client, the local backend on loopback).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from nemo_local import Faults
from nemo_mcp.samples import make_photo
from tests.e2e.conftest import Workspace
from tests.reliability.conftest import DEADLINE_SLACK, assert_plain_words, text_of

FOLDERS = {
    "a file, not a folder": (lambda tmp: _file(tmp), "it is a file"),
    "a path through a file": (lambda tmp: _file(tmp) / "videos", "is a file"),
    "a folder that can't be made": (lambda tmp: Path("/proc/nemo-mcp-test/videos"), "created"),
    "a relative folder": (lambda tmp: Path("videos"), "relative path"),
}


def _file(tmp: Path) -> Path:
    path = tmp / "a-file.txt"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("case", sorted(FOLDERS))
async def test_an_unusable_output_folder_names_itself(
    open_live: Any, tmp_path: Path, case: str, figures: Counter[str]
) -> None:
    make, words = FOLDERS[case]
    async with open_live() as live:
        result = await live.call("export_video", {"output_dir": str(make(tmp_path))})
        renders = live.count("render_submit")
    said = text_of(result)
    assert result.is_error and words in said, said
    assert_plain_words(said)
    assert renders == 0, "a bad folder costs no render"
    figures["bad inputs tried (output folders)"] += 1


STDIO_FAULTS = [
    ("hang", "check_credits", {"hang_next": 1}, "did not answer in time"),
    ("html_502", "upload_media", {"html_error_next": 1}, "internal problem"),
    ("bad_json", "check_credits", {"bad_json_next": 1}, "internal problem"),
    ("redirect_elsewhere", "upload_media", {"redirect_next": 1}, "internal problem"),
]


async def test_fault_cells_over_real_stdio(workspace: Workspace, figures: Counter[str]) -> None:
    """``nemo-mcp serve`` as a subprocess: each fault answered in words in time, then the same
    call works."""
    photo = make_photo(workspace.media / "a.jpg", 0, (48, 64))
    params = workspace.params(NEMO_TOOL_WAIT="3", NEMO_REQUEST_TIMEOUT="2")
    async with Client(params, mode="legacy") as client:
        for name, tool, switches, words in STDIO_FAULTS:
            arguments = {"paths": [str(photo)]} if tool == "upload_media" else {}
            workspace.backend.faults.update(switches)
            started = time.monotonic()
            result = await client.call_tool(tool, arguments)
            took = time.monotonic() - started
            said = text_of(result)
            assert result.is_error and words in said, f"{tool} x {name}: {said}"
            assert_plain_words(said)
            assert took < 3 + DEADLINE_SLACK, f"{tool} x {name}: {took:.1f} s"
            workspace.backend.faults.update(Faults(talkative=True).snapshot())
            again = await client.call_tool(tool, arguments)
            assert not again.is_error, f"{tool} after {name}: {text_of(again)}"
            figures["fault cells (stdio)"] += 1
