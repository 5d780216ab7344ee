"""The raw wire: nothing but JSON-RPC on stdout, and cancelled calls leave nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import Client

from tests.e2e.conftest import MakeMedia, Workspace, read_mp4, structured


def _request(id_: int, method: str, params: dict[str, object]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})


def test_stdout_carries_only_json_rpc(workspace: Workspace) -> None:
    """Every line the server writes to stdout is a JSON-RPC message, even while it logs."""
    params = workspace.params()
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    lines = [
        _request(1, "initialize", init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        _request(2, "tools/list", {}),
        _request(3, "tools/call", {"name": "upload_media",
                                   "arguments": {"paths": ["/nope/a.jpg"]}}),
        _request(4, "tools/call", {"name": "check_credits", "arguments": {}}),
        _request(5, "prompts/list", {}),
    ]  # fmt: skip
    proc = subprocess.Popen(
        [params.command, *params.args], env=params.env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n".join(lines) + "\n")
    proc.stdin.flush()
    messages, answered = [], set()
    while answered != {1, 2, 3, 4, 5}:  # stdin stays open until every answer is in
        line = proc.stdout.readline()
        assert line, "the server closed stdout early"
        message = json.loads(line)  # a non-JSON line fails here
        messages.append(message)
        if "id" in message:
            answered.add(message["id"])
    rest, stderr = proc.communicate(timeout=30)  # closes stdin: the server exits
    messages += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    assert "INFO" in stderr, "logs went to stderr"


async def test_a_cancelled_export_call_leaves_no_half_written_file(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """The assistant gave up on the call; the export goes on and lands whole, once."""
    images = photos(3)
    async with Client(workspace.params(), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        with anyio.move_on_after(0.3) as scope:
            await client.call_tool("export_video", {})
        assert scope.cancelled_caught, "the call was cancelled while it ran"
        # The export goes on: any file the user can see by now is already whole.
        for seen in (p for p in workspace.out.glob("*") if not p.name.startswith(".")):
            assert read_mp4(seen)["video_codec"] == "h264", seen
        done = structured(await client.call_tool("export_video", {}))
    assert done["status"] == "done"
    path = Path(done["path"])
    assert read_mp4(path)["video_codec"] == "h264"
    assert sorted(workspace.out.iterdir()) == [path], "one whole file, no leftovers"
    assert workspace.backend.stats.count("render_submit") == 1


def test_module_entry_point_matches_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("nemo-mcp ")
