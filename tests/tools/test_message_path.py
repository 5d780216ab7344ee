"""How far one send_edit message travels: the modules whose code runs while it is answered.

docs/ARCHITECTURE.md lists the path; this keeps the list true. Pure helpers (words, routing, the
timeline reader, redaction ...) are left out: they are leaves, not stops on the way.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from types import FrameType
from typing import Any

import anyio

from nemo_mcp.server import TIDY_TASK
from tests.fakes.backend import FakeBackend

LEAVES = {
    "nemo_mcp.errors", "nemo_mcp.words", "nemo_mcp.redact", "nemo_mcp.timeline", "nemo_mcp.gui",
    "nemo_mcp.lazyre", "nemo_mcp.results", "nemo_mcp.tool_names", "nemo_mcp.language",
    "nemo_mcp.settings", "nemo_mcp.manifests", "nemo_mcp.attribution", "nemo_mcp.routing",
    "nemo_mcp.deployment", "nemo_mcp.store.records", "nemo_mcp.backend.models",
    "nemo_mcp.backend.refusals", "nemo_mcp.backend.envelope", "nemo_mcp.backend.multipart",
    "nemo_mcp.skill_choice", "nemo_mcp.spend",
    "nemo_mcp.store.sqlite_schema",  # its SQL helpers, reached in the store's worker threads
}  # fmt: skip
PATH = [
    "nemo_mcp.tools.edge",
    "nemo_mcp.tools.listing",
    "nemo_mcp.tools.confirm",
    "nemo_mcp.tools.skills",
    "nemo_mcp.tools.edit",
    "nemo_mcp.jobs",
    "nemo_mcp.flows.kinds",
    "nemo_mcp.store.sqlite",
    "nemo_mcp.flows.edit",
    "nemo_mcp.backend.client",
    "nemo_mcp.backend.sessions",
    "nemo_mcp.store.lease",
    "nemo_mcp.backend.credentials",
    "nemo_mcp.backend.http",
    "nemo_mcp.backend.stream",
    "nemo_mcp.backend.sse",
]
"""The 16 stops, in the order the message reaches them (16 before issue 21, 14 after it; issue 18
added the compact listing, the question before spending and the skill's runtime, which takes the
place of ``tools/runtime`` on the path)."""


def _module(frame: FrameType) -> str | None:
    name = frame.f_globals.get("__name__", "")
    if not isinstance(name, str) or not name.startswith("nemo_mcp."):
        return None
    for package in ("nemo_mcp.timeline", "nemo_mcp.jobs"):
        if name.startswith(package):
            return package
    return name


async def _start_up_work_done() -> None:
    """The server tidies its records after start-up (``server.TIDY_TASK``), beside the first calls:
    wait it out, so that its store calls are not counted as stops of the message."""
    with anyio.fail_after(10):
        while any(t.get_name() == TIDY_TASK for t in asyncio.all_tasks()):
            await anyio.sleep(0.01)


async def test_a_send_edit_message_crosses_the_documented_modules(
    open_session: Any, fake: FakeBackend
) -> None:
    async with open_session() as s:
        await s.data("check_credits")  # the token and the session exist before the message
        await _start_up_work_done()
        reached: list[str] = []

        def profile(frame: FrameType, event: str, _: object) -> None:
            if event == "call" and (name := _module(frame)) and name not in reached:
                reached.append(name)

        sys.setprofile(profile)
        threading.setprofile(profile)  # type: ignore[arg-type]
        try:
            data = await s.data("send_edit", {"message": "make a video"})
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
    assert data["status"] == "done"
    stops = [m for m in reached if m not in LEAVES]
    assert [m for m in stops if m not in PATH] == [], "a new stop on the way"
    assert len(stops) >= len(PATH) - 1, stops
