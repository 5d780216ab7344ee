"""Every fault switch of the local backend, and a full disk, crossed with every tool.

Each cell: the tool answers within ``NEMO_TOOL_WAIT`` and the boundary's margin, in plain words
(no backend body, no class name, no traceback); a message is never sent twice; no render is
submitted twice unless the first failed; no partial file is left; and the next call, with the
fault gone, works. Cells run in one server per tool, in order, so each fault also meets the
state the one before it left behind.
"""

from __future__ import annotations

import errno
import logging
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp import downloads
from nemo_mcp.samples import make_photo
from tests.e2e.conftest import read_mp4
from tests.reliability.conftest import (
    DEADLINE_SLACK,
    TOOL_WAIT,
    Live,
    assert_plain_words,
    part_files,
    text_of,
)

DISK_FULL = "disk_full"
FAULTS: dict[str, dict[str, Any]] = {
    "hang": {"hang_next": 1},
    "html_502": {"html_error_next": 1},
    "html_502_twice": {"html_error_next": 2},
    "bad_json": {"bad_json_next": 1},
    "redirect_elsewhere": {"redirect_next": 1},
    "rate_limited_twice": {"rate_limit_next": 2, "retry_after_s": 0},
    "expired_token": {"expire_token": True},
    "lost_session": {"lose_session": True},
    "dropped_stream": {"drop_next_stream": True},
    "heartbeats_only": {"heartbeat_only_seconds": 2.5},
    "stream_error": {"error_next_stream": True},
    "failed_render": {"fail_next_render": True},
    "export_blocked": {"block_export": True},
    "download_cut": {"cut_download_next": 2},
    "render_route_hang": {"hang_next": 1, "fault_path": "/api/render"},
    "render_route_html": {"html_error_next": 3, "fault_path": "/api/render"},
    "slow": {"slow_ms": 300},
    DISK_FULL: {},
}
# When a cell's answer is an error, the cause it names.
CAUSES = {
    "hang": "did not answer in time",
    "html_502": "internal problem",
    "bad_json": "internal problem",
    "rate_limited_twice": "rate limiting",
    "export_blocked": "plan limit",
    "download_cut": "could not be saved",
    DISK_FULL: "disk is full",
}
TOOLS = ("upload_media", "send_edit", "get_timeline", "export_video", "check_credits")


class FullDisk:
    """The download writer of ``nemo_mcp.downloads`` on a disk with no room left: the first
    write takes half its bytes without saying so, the next raises ENOSPC (a buffered write on a
    full disk fails late, and a short write must not pass for a whole file)."""

    def __init__(self) -> None:
        self.real = anyio.open_file

    async def open_file(self, path: Path, mode: str) -> Any:
        handle = await self.real(path, mode)
        write = handle.write
        written = 0

        async def full(data: bytes) -> int:
            nonlocal written
            if written:
                raise OSError(errno.ENOSPC, "No space left on device")
            written += len(data)
            await write(data[: len(data) // 2])
            return len(data)

        handle.write = full  # type: ignore[method-assign]
        return handle


def _arguments(tool: str, live: Live, cell: int) -> dict[str, Any]:
    if tool == "upload_media":
        photo = make_photo(live.media / f"cell{cell}.jpg", cell, (64, 96))
        return {"paths": [str(photo)]}
    if tool == "send_edit":
        return {"message": f"add the title 'cell {cell}'"}
    if tool == "export_video":
        return {"output_dir": str(live.out)}
    return {}


async def _settle(live: Live, tool: str, arguments: dict[str, Any]) -> Any:
    """Call until the work is done (a job may outlive one call); the last result."""
    result = await live.call(tool, arguments)
    for _ in range(20):
        data = result.structured_content or {}
        if result.is_error or data.get("status") not in ("running", "queued"):
            break
        await anyio.sleep(0.3)
        follow = {"output_dir": arguments["output_dir"]} if tool == "export_video" else {}
        result = await live.call("get_timeline" if tool == "send_edit" else tool, follow)
        if tool == "send_edit":
            return result
    return result


async def _prepare(live: Live) -> None:
    photo = make_photo(live.media / "base.jpg", 0, (64, 96))
    upload = await _settle(live, "upload_media", {"paths": [str(photo)]})
    assert not upload.is_error, text_of(upload)
    edit = await _settle(live, "send_edit", {"message": "turn these photos into a video"})
    assert not edit.is_error, text_of(edit)


def _log_problems(where: str, records: list[logging.LogRecord]) -> list[str]:
    """Expected conditions are a line each: no traceback, and no failure logged twice."""
    ours = [r for r in records if r.name.startswith(("nemo_mcp", "mcp"))]
    found = [f"{where}: a traceback in the log: {r.getMessage()[:200]}" for r in ours
             if r.exc_info or r.exc_text or "Traceback" in r.getMessage()]  # fmt: skip
    seen = Counter(r.getMessage() for r in ours if r.levelno >= logging.WARNING)
    found += [f"{where}: logged {n} times: {m[:200]}" for m, n in seen.items() if n > 1]
    return found


@pytest.mark.parametrize("tool", TOOLS)
async def test_every_fault_with_every_tool(
    tool: str,
    open_live: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    figures: Counter[str],
) -> None:
    caplog.set_level(logging.INFO)
    problems: list[str] = []
    async with open_live() as live:
        await _prepare(live)
        for cell, (name, switches) in enumerate(FAULTS.items()):
            live.backend.faults.all_off()
            live.backend.stats.reset()
            live.backend.faults.update(switches)
            if name == DISK_FULL:
                monkeypatch.setattr(
                    downloads, "anyio", types.SimpleNamespace(
                        open_file=FullDisk().open_file, to_thread=anyio.to_thread
                    ),
                )  # fmt: skip
            arguments = _arguments(tool, live, cell)
            caplog.clear()
            started = time.monotonic()
            result = await live.call(tool, arguments)
            took = time.monotonic() - started
            said = text_of(result)
            where = f"{tool} x {name}"
            if took > TOOL_WAIT + DEADLINE_SLACK:
                problems.append(f"{where}: answered after {took:.1f} s")
            try:
                assert_plain_words(said)
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
            cause = CAUSES.get(name)
            if result.is_error and cause and cause not in said:
                problems.append(f"{where}: the cause is not named ({cause!r}): {said[:300]}")
            if live.count("run_sse") > 1:
                problems.append(f"{where}: the message was sent {live.count('run_sse')} times")
            renders = live.count("render_submit")
            if renders > (2 if name in ("failed_render", "render_route_html") else 1):
                problems.append(f"{where}: {renders} renders submitted")
            # The fault is gone: the work finishes, and the next call works.
            live.backend.faults.all_off()
            monkeypatch.undo()
            if name == "lost_session":
                await _prepare(live)  # the project is gone by design: start another
            live.backend.stats.reset()
            settled = await _settle(live, tool, _arguments(tool, live, cell + 100))
            if (
                result.is_error
                and "without rendering again" in said
                and live.count("render_submit")
            ):
                problems.append(f"{where}: the finished render was rendered again")
            if settled.is_error:
                problems.append(f"{where}: the next call failed: {text_of(settled)[:300]}")
            if parts := part_files(live.out):
                problems.append(f"{where}: partial files left: {parts}")
            problems += _log_problems(where, caplog.records)
            figures["fault cells"] += 1
            figures[f"matrix cells ({tool})"] += 1
        for video in sorted(live.out.glob("*.mp4")):
            assert read_mp4(video)["frames"] > 0, f"{video} is not a whole MP4"
            figures["exported MP4s read back whole"] += 1
    assert not problems, "\n".join(problems)
