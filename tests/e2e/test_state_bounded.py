"""Bounded time: a backend that accepts connections and never answers holds no tool past
``NEMO_TOOL_WAIT`` (and a small margin), and once it answers again the next call works.

The hung backend is a raw socket in front of the local backend: while ``hang`` is set it
accepts connections and never reads or writes; otherwise it pipes bytes both ways.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client

from nemo_mcp.store.sqlite import STATE_FILE
from tests.e2e.conftest import MakeMedia, Workspace, error_text, structured
from tests.e2e.test_long_work import _server_pids

TOOL_WAIT = 2.0
MARGIN = 2.0 + 1.0  # the server's own margin, and the stdio round trip on a busy machine
REQUEST_TIMEOUT = 6.0
"""Longer than the tool's wait: the wait, not the request's timeout, bounds the call."""


class HangingDoor:
    """A TCP port that either swallows connections (``hang``) or forwards them to ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.hang = threading.Event()
        self.hang.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self.hang.is_set():
                self._held.append(conn)  # accepted, never read, never answered
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def door(workspace: Workspace) -> Iterator[HangingDoor]:
    parts = urlsplit(workspace.backend.url)
    hanging = HangingDoor((parts.hostname or "127.0.0.1", parts.port or 80))
    yield hanging
    hanging.close()


async def timed(client: Client, tool: str, args: dict[str, Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = await client.call_tool(tool, args)
    return time.monotonic() - started, result


async def test_every_tool_answers_in_time_from_a_backend_that_never_answers(
    workspace: Workspace, door: HangingDoor, photos: MakeMedia
) -> None:
    [photo] = photos(1)
    params = workspace.params(
        NEMO_API_URL=door.url,
        NEMO_TOOL_WAIT=str(TOOL_WAIT),
        NEMO_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT),
        NEMO_CONNECT_TIMEOUT="2",
    )
    calls: list[tuple[str, dict[str, Any]]] = [
        ("check_credits", {}),
        ("get_timeline", {}),
        ("upload_media", {"paths": [str(photo)]}),
        ("send_edit", {"message": "turn this photo into a video"}),
        ("export_video", {}),
    ]
    answers: dict[str, tuple[float, Any]] = {}

    async def ask(client: Client, tool: str, args: dict[str, Any]) -> None:
        answers[tool] = await timed(client, tool, args)

    async with Client(params, mode="legacy") as client:
        # All five at once, each timed on its own: the waits overlap (one wait of wall time,
        # not five), and each call is held to its bound while the others hang too.
        async with anyio.create_task_group() as tg:
            for tool, args in calls:
                tg.start_soon(ask, client, tool, args)
        assert set(answers) == {tool for tool, _ in calls}
        for tool, (took, result) in answers.items():
            assert took < TOOL_WAIT + MARGIN, f"{tool} took {took:.1f} s"
            if result.is_error:  # a read: stopped at the deadline, and said so
                text = error_text(result)
                assert "did not answer within 2 s" in text and "nothing was changed" in text
            else:  # long work: a job that goes on, with its id and when to ask again
                answer = structured(result)
                assert answer["status"] in ("running", "queued") and answer["job_id"], answer
                assert "again" in answer["reply"] or "status" in answer["reply"]
        assert workspace.backend.stats.count("anonymous_token") == 0  # nothing got through

        door.hang.clear()  # the backend answers again
        with anyio.fail_after(REQUEST_TIMEOUT + 4 * (TOOL_WAIT + MARGIN)):
            while True:  # the requests still hanging give up after NEMO_REQUEST_TIMEOUT
                took, result = await timed(client, "check_credits", {})
                assert took < TOOL_WAIT + MARGIN
                if not result.is_error:
                    break
        assert structured(result)["available"] > 0
        timeline = structured(await client.call_tool("get_timeline", {}))
    assert "jobs" in timeline
    assert workspace.backend.stats.count("anonymous_token") == 1


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the server process through /proc")
async def test_a_server_killed_while_fetching_the_token_does_not_hold_the_others_back(
    workspace: Workspace, door: HangingDoor
) -> None:
    """The token is fetched by one process at a time (a lease in the store). The one fetching it
    is killed while the backend hangs: the next process fetches it at once, not after the
    lease's time (a request's timeout and more) runs out."""
    params = workspace.params(NEMO_API_URL=door.url, NEMO_TOOL_WAIT="1")
    async with Client(params, mode="legacy") as client:
        started = structured(await client.call_tool("send_edit", {"message": "add a title"}))
        assert started["status"] == "running"  # the job goes on fetching the token, holding it
        with sqlite3.connect(workspace.config / STATE_FILE) as db:
            held = {name for (name,) in db.execute("SELECT name FROM leases")}
        assert any(name.startswith("token ") for name in held), held
        for pid in _server_pids(workspace.config):
            os.kill(pid, signal.SIGKILL)
    door.hang.clear()
    async with Client(workspace.params(NEMO_API_URL=door.url), mode="legacy") as client:
        took, result = await timed(client, "check_credits", {})
    assert structured(result)["available"] > 0
    assert took < 10, f"waited {took:.1f} s for a dead process's lease"
    assert workspace.backend.stats.count("anonymous_token") == 1
