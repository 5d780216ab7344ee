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
            workspace.backend.faults.all_off()
            again = await client.call_tool(tool, arguments)
            assert not again.is_error, f"{tool} after {name}: {text_of(again)}"
            figures["fault cells (stdio)"] += 1


async def test_an_unreachable_backend_is_one_plain_line_per_call(
    open_live: Any, caplog: pytest.LogCaptureFixture, figures: Counter[str]
) -> None:
    """Every tool says so in words, and the log has a line for it, not a traceback."""
    import logging

    from tests.reliability.test_fault_matrix import _log_problems

    caplog.set_level(logging.INFO)
    problems: list[str] = []
    async with open_live(api_url="http://127.0.0.1:9") as live:
        photo = make_photo(live.media / "a.jpg", 0, (48, 64))
        for tool, arguments in (
            ("check_credits", {}), ("get_timeline", {}), ("send_edit", {"message": "add a title"}),
            ("upload_media", {"paths": [str(photo)]}), ("export_video", {}),
        ):  # fmt: skip
            caplog.clear()
            result = await live.call(tool, arguments)
            said = text_of(result)
            assert result.is_error and "could not be reached" in said, f"{tool}: {said}"
            assert_plain_words(said)
            problems += _log_problems(tool, caplog.records)
            figures["faults injected (backend down)"] += 1
    assert not problems, "\n".join(problems)


async def test_out_of_credits_is_words_with_a_link_and_no_traceback(
    open_live: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, figures: Counter[str]
) -> None:
    import logging

    from nemo_local import LocalBackendConfig, start_in_thread
    from tests.reliability.test_fault_matrix import _log_problems

    caplog.set_level(logging.INFO)
    poor = start_in_thread(LocalBackendConfig(data_dir=tmp_path / "poor", starting_credits=1))
    try:
        async with open_live(api_url=poor.url) as live:
            photo = make_photo(live.media / "a.jpg", 0, (48, 64))
            await live.call("upload_media", {"paths": [str(photo)]})
            caplog.clear()
            result = await live.call("send_edit", {"message": "turn these photos into a video"})
    finally:
        poor.stop()
    said = text_of(result)
    assert result.is_error and "out of free credits" in said and "?bind=" in said, said
    assert_plain_words(said)
    assert not _log_problems("out of credits", caplog.records)
    figures["faults injected (out of credits)"] += 1


# Made up, in the shape of a NemoVideo user token (written in two parts so that no scanner takes
# it for a real one): what a user pasting their token in the wrong field would send.
FAKE_PASTED_TOKEN = "nmv_usr_" + "PASTEDintoTHEwrongFIELD123"

ARGUMENT_CASES = [
    ("send_edit", {"message": 7}, "`message`"),
    ("send_edit", {}, "`message`"),
    ("upload_media", {"paths": "a.jpg"}, "`paths`"),
    ("upload_media", {"paths": [None, 3]}, "`paths.0`"),
    ("export_video", {"download": "maybe"}, "`download`"),
    ("send_edit", {"message": [FAKE_PASTED_TOKEN]}, "`message`"),
]


async def test_arguments_a_tool_does_not_take_are_named_in_plain_words(
    open_live: Any, figures: Counter[str]
) -> None:
    """The SDK refuses them before the tool runs; the edge rewrites pydantic's text (a class
    name, the rejected value, a link) into words naming the field, and removes secrets."""
    async with open_live() as live:
        for tool, arguments, field in ARGUMENT_CASES:
            result = await live.call(tool, arguments)
            said = text_of(result)
            assert result.is_error and field in said and "does not take" in said, said
            assert_plain_words(said)
            assert "PASTED" not in said
            figures["bad inputs tried (tool arguments)"] += 1
