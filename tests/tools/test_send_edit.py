"""``send_edit`` in memory: the words decide the action, long edits hand off and are joined,
different edits queue, every finished result is reported once, in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.jobs import JobManager
from nemo_mcp.store import Scope
from tests.fakes.backend import FakeBackend, envelope, held, reply


@pytest.mark.parametrize(
    ("message", "intent", "route"),
    [
        pytest.param("export it please", "export", "render_submit", id="export"),
        pytest.param("导出视频", "export", "render_submit", id="export-zh"),
        pytest.param("how many credits do I have", "credits", "credits", id="credits"),
        pytest.param("余额", "credits", "credits", id="credits-zh"),
        pytest.param("status", "state", "state", id="status"),
        pytest.param("upload", "upload", None, id="upload"),
    ],
)
async def test_router_words_are_handled_here_and_never_sent(
    open_session: Any, fake: FakeBackend, message: str, intent: str, route: str | None
) -> None:
    fake.draft = {"t": [{"tt": 0, "sg": [{"d": 3000, "m": {"name": "a.jpg"}}]}]}
    async with open_session() as s:
        data = await s.data("send_edit", {"message": message})
    assert data["intent"] == intent
    assert fake.count("run_sse") == 0
    if route:
        assert fake.count(route) >= 1


async def test_an_edit_is_sent_once_and_answered_with_the_change(
    open_session: Any, fake: FakeBackend
) -> None:
    async with open_session() as s:
        data = await s.data("send_edit", {"message": "make a video"})
    assert (data["status"], data["intent"]) == ("done", "edit")
    assert data["reply"] == "Done: make a video."
    assert data["timeline"].startswith("Timeline (1 track)")
    assert data["changes"] == ["Video 1 added: 'clip' (0-3s)"]
    assert fake.count("run_sse") == 1


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
async def test_an_empty_message_is_refused(
    open_session: Any, fake: FakeBackend, message: str
) -> None:
    async with open_session() as s:
        words = await s.error("send_edit", {"message": message})
    assert "The message is empty" in words and fake.count("run_sse") == 0


async def test_status_never_answers_with_the_timeline_while_a_result_waits(
    open_session: Any, fake: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edit ends just after 'status' looked for finished results: the answer must not be the
    bare timeline (as if nothing had happened); the result comes with this answer or the next."""
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("All done.")))
    take = JobManager.news
    racing = {"on": False}

    async def take_then_the_edit_ends(self: JobManager, scope: Scope, kind: Any) -> Any:
        taken = await take(self, scope, kind)
        if racing["on"] and not taken:
            release.set()
            with anyio.fail_after(5):
                while await self.active(scope, "edit"):
                    await anyio.sleep(0.01)
        return taken

    monkeypatch.setattr(JobManager, "news", take_then_the_edit_ends)
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "make a long video"})
        racing["on"] = True
        status = await s.data("send_edit", {"message": "status"})
        racing["on"] = False
        after = await s.data("send_edit", {"message": "status"})
    assert first["status"] == "running"
    assert status["intent"] == "edit" and status["job_id"] == first["job_id"], status
    assert "All done." in (status["reply"], after["reply"])


async def test_a_long_edit_hands_off_is_joined_and_reported_later(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("All done.")))
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "make a long video"})
        again = await s.data("send_edit", {"message": "Make a  LONG video"})
        status = await s.data("send_edit", {"message": "status"})
        release.set()
        with anyio.fail_after(5):
            while (status := await s.data("send_edit", {"message": "status"}))["status"] != "done":
                pass
        later = await s.data("send_edit", {"message": "status"})
    assert first["status"] == "running" and first["job_id"]
    assert "not sent again" in first["reply"]
    assert again["job_id"] == first["job_id"], "the same words join the running job"
    assert status["reply"] == "All done." and status["job_id"] == first["job_id"]
    assert later["intent"] == "state", "a result is reported once"
    assert fake.count("run_sse") == 1


async def test_different_edits_queue_and_every_result_is_reported_in_order(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("First done.")))
    fake.stream(reply("Second done."))
    async with open_session(tool_wait=0.15) as s:
        first = await s.data("send_edit", {"message": "add music"})
        second = await s.data("send_edit", {"message": "add a title"})
        release.set()
        told: list[str] = []
        with anyio.fail_after(5):
            while not any("Second" in t for t in told):
                status = await s.data("send_edit", {"message": "status"})
                if status["intent"] == "edit" and status["status"] == "done":
                    told.append(status["reply"])
    assert first["status"] == "running"
    assert second["status"] == "queued" and "place 1" in second["reply"]
    everything = "\n".join(told)
    assert everything.count("First done.") == 1 and everything.count("Second done.") == 1
    assert everything.index("First") < everything.index("Second"), "in order"
    assert fake.count("run_sse") == 2


async def test_out_of_credits_gives_the_registration_link_and_charges_nothing(
    open_session: Any, fake: FakeBackend
) -> None:
    fake.fail("run_sse", envelope(None, code=2001, status=403, message="no credits"))
    async with open_session() as s:
        words = await s.error("send_edit", {"message": "make a video"})
    assert "out of free credits" in words and "https://web.nemo.test?bind=bind_1" in words


async def test_a_session_that_expired_is_replaced_and_said(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.fail("state", envelope(None, code=1002, status=404, message="Session not found"))
    async with open_session() as s:
        data = await s.data("get_timeline")
    assert data["summary"].startswith("The previous project had expired")
    assert fake.count("session") == 2
