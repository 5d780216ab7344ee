"""The user's "stop" in memory: queued edits dropped unsent, a running edit stopped in plain
words, an export no longer polled, also after a restart, and only the caller's own work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from nemo_mcp.manifests import Manifest
from tests.fakes.backend import FakeBackend, held, reply

DRAFT = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 3000, "m": {"name": "a.jpg"}}]}]}


async def test_a_queued_edit_is_dropped_and_never_sent(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("First done.")))
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "add music"})
        queued = await s.data("send_edit", {"message": "add a title"})
        stopped = await s.data("send_edit", {"message": f"stop {queued['job_id']}"})
        release.set()
        with anyio.fail_after(5):
            while (status := await s.data("send_edit", {"message": "status"}))["intent"] != "edit":
                pass
        await anyio.sleep(0.1)
    assert first["status"] == "running" and queued["status"] == "queued"
    assert stopped["intent"] == "cancel" and stopped["status"] == "cancelled"
    assert "never sent, so nothing was charged" in stopped["reply"]
    assert status["reply"] == "First done.", "the running one went on"
    assert fake.count("run_sse") == 1, "the dropped one was never sent"


async def test_a_running_edit_is_stopped_and_says_it_may_still_be_charged(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("Done.")))
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "make a long video"})
        with anyio.fail_after(5):  # a wait can end before the message goes out; this one went
            while fake.count("run_sse") == 0:
                await anyio.sleep(0.01)
        stopped = await s.data("send_edit", {"message": "停止"})
        timeline = await s.data("get_timeline")
        again = await s.data("send_edit", {"message": "never mind"})
        release.set()
    assert first["status"] == "running"
    assert stopped["status"] == "cancelled" and stopped["job_id"] == first["job_id"]
    assert "may still complete there and be charged" in stopped["reply"]
    assert "get_timeline" in stopped["reply"]
    assert timeline["jobs"] == [], "nothing runs any more, and nothing is told twice"
    assert again["status"] == "done" and "nothing to stop" in again["reply"]


async def test_stop_music_is_an_edit_not_a_stop(open_session: Any, fake: FakeBackend) -> None:
    async with open_session() as s:
        data = await s.data("send_edit", {"message": "don't stop the music"})
    assert data["intent"] == "edit" and fake.count("run_sse") == 1


async def test_an_export_stops_polling_and_is_not_resumed_after_a_restart(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    fake.render_polls = 10_000
    timing = {"tool_wait": 0.15, "poll_interval": 0.05, "render_polls": 10_000}
    async with open_session(output_dir=tmp_path, **timing) as s:
        first = await s.data("export_video")
        stopped = await s.data("send_edit", {"message": "cancel the export"})
        polls = fake.count("render_status")
        await anyio.sleep(0.3)
        after = fake.count("render_status")
    assert first["status"] == "running"
    assert stopped["status"] == "cancelled" and "no longer followed" in stopped["reply"]
    assert after <= polls + 1, "no more polling once stopped"
    async with open_session(output_dir=tmp_path, **timing) as s:
        await anyio.sleep(0.3)
        timeline = await s.data("get_timeline")
    assert fake.count("render_status") <= after + 1, "a restarted server does not resume it"
    assert timeline["jobs"] == []


async def test_a_stop_after_a_restart_reaches_the_work_left_on_record(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("Done.")))
    fake.fail("run_sse", held(release, reply("Done.")))
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "make a long video"})
        queued = await s.data("send_edit", {"message": "add a title"})
    # The server stopped; the records stay. The next one stops both from the store.
    async with open_session(tool_wait=0.15) as s:
        stopped = await s.data("send_edit", {"message": "cancel"})
        release.set()
        await anyio.sleep(0.2)
    assert first["status"] == "running" and queued["status"] == "queued"
    assert "Dropped the queued request 'add a title'" in stopped["reply"]
    sent = [r.content for r in fake.requests if fake.route_of(r) == "run_sse"]
    assert len(sent) == 1 and b"add a title" not in sent[0], "the queued one was never sent"


async def test_a_stop_reaches_every_skill_of_the_caller(
    open_session: Any, manifests: dict[str, Manifest], fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("Done.")))
    async with open_session(skills=manifests, tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "make my selfie sing"})
        await s.data("get_timeline", {"skill": "picture-to-video-ai"})
        stopped = await s.data("send_edit", {"message": "stop"})
        release.set()
    assert first["status"] == "running"
    assert stopped["status"] == "cancelled" and stopped["job_id"] == first["job_id"]
