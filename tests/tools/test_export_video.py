"""``export_video`` in memory: one export at a time, joined or handed out, folders checked first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.jobs import JobManager
from nemo_mcp.store import JobKind, Scope
from tests.fakes.backend import MP4, FakeBackend

DRAFT = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 3000, "m": {"name": "a.jpg"}}]}]}


async def test_an_export_lands_one_whole_mp4(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with open_session(output_dir=tmp_path / "out") as s:
        data = await s.data("export_video", progress_callback=on_progress)
    path = Path(data["path"])
    assert data["status"] == "done" and path.parent == tmp_path / "out"
    assert path.read_bytes() == MP4 and data["bytes"] == len(MP4)
    assert data["link"] == "https://web.nemo.test/workspace/claim?ct=clm_fake_claim_0001"
    assert progress == sorted(progress) and progress
    assert fake.count("render_submit") == 1


async def test_a_slow_export_hands_off_and_asking_again_joins_it(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    fake.render_polls = 10**6  # rendering until the test lets it end: going at the second call
    async with open_session(
        tool_wait=0.3, poll_interval=0.05, render_polls=100, output_dir=tmp_path
    ) as s:
        first = await s.data("export_video")
        again = await s.data("export_video")
        assert again["status"] == "running"
        fake.render_polls = 0  # the render finishes at its next poll
        with anyio.fail_after(30):
            while (done := await s.data("export_video"))["status"] != "done":
                pass
    assert first["status"] == "running" and again["job_id"] == first["job_id"]
    assert done["job_id"] == first["job_id"] and Path(done["path"]).exists()
    assert fake.count("render_submit") == 1


async def test_an_unusable_folder_is_refused_before_anything_renders(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    (tmp_path / "file.txt").write_text("x")
    async with open_session() as s:
        relative = await s.error("export_video", {"output_dir": "videos"})
        a_file = await s.error("export_video", {"output_dir": str(tmp_path / "file.txt")})
        through = await s.error("export_video", {"output_dir": str(tmp_path / "file.txt" / "v")})
        fine = await s.data("export_video", {"output_dir": str(tmp_path / "new" / "folder")})
    assert "relative path" in relative
    assert "file.txt: it is a file, not a folder" in a_file
    assert "file.txt is a file" in through and "Something unexpected" not in through
    assert fine["status"] == "done", "a bad folder does not break the next export"
    assert fake.count("render_submit") == 1


async def test_an_empty_timeline_is_refused(open_session: Any, fake: FakeBackend) -> None:
    async with open_session() as s:
        words = await s.error("export_video")
    assert "timeline is empty" in words and fake.count("render_submit") == 0


async def test_an_html_error_page_never_reaches_the_user(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    page = httpx.Response(502, text="<!DOCTYPE html><html><body>Bad Gateway</body></html>")
    fake.fail("render_submit", page, page)
    async with open_session(output_dir=tmp_path) as s:
        words = await s.error("export_video")
    assert "export failed on the backend" in words
    assert "DOCTYPE" not in words and "ServerFault" not in words and "Bad Gateway" not in words
    assert fake.count("render_submit") == 2


async def test_an_unchanged_draft_is_not_rendered_again(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    out = tmp_path / "out"
    async with open_session(output_dir=out) as s:
        first = await s.data("export_video")
        again = await s.data("export_video")
        copy = await s.data("export_video", {"new_copy": True})
        fake.draft = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 6000, "m": {"name": "b.jpg"}}]}]}
        changed = await s.data("export_video")
    assert again["path"] == first["path"] and "Nothing changed" in again["reply"]
    assert copy["path"] != first["path"] and Path(copy["path"]).read_bytes() == MP4
    assert fake.count("render_submit") == 2, "a new copy re-saves the render; a change renders"
    assert changed["path"] not in (first["path"], copy["path"])
    assert len(list(out.glob("*.mp4"))) == 3


async def test_progress_never_goes_back_across_calls(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    """The demo printed 100% "Done." on an export that was still rendering, then 0% "Started."
    on the call that resumed it."""
    fake.draft = DRAFT
    fake.render_polls = 4  # longer than one call's poll budget
    seen: list[tuple[float, str]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        seen.append((p, message or ""))

    async with open_session(output_dir=tmp_path, render_polls=2, poll_interval=0.01) as s:
        first = await s.data("export_video", progress_callback=on_progress)
        calls = [len(seen)]
        with anyio.fail_after(30):
            while (done := await s.data("export_video", progress_callback=on_progress))[
                "status"
            ] != "done":
                calls.append(len(seen))
    assert first["status"] == "running" and done["status"] == "done"
    percents = [p for p, _ in seen]
    assert percents == sorted(percents), seen
    for start, end in zip([0, *calls], [*calls, len(seen)], strict=True):
        one_call = percents[start:end]  # MCP: each notification of a request increases
        assert all(b > a for a, b in zip(one_call, one_call[1:], strict=False)), one_call
    assert percents.count(100.0) == 1 and percents[-1] == 100.0, "100% once, at the end"
    assert fake.count("render_submit") == 1


async def test_an_export_ending_just_as_it_is_asked_again_is_handed_out_not_rendered_again(
    open_session: Any, fake: FakeBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving of a loaded server, forced: the running export ends between the call's
    look for unseen results and its request for an export. Joining only active jobs then
    started a second export, and its render was a second charge for the same draft."""
    fake.draft = DRAFT
    fake.render_polls = 10**6  # rendering until the second call has looked for results
    news = JobManager.news

    async def news_then_the_export_ends(self: JobManager, scope: Scope, kind: JobKind) -> Any:
        told = await news(self, scope, kind)
        fake.render_polls = 0  # the render finishes at its next poll
        for job_id in self.held():
            await self.wait(job_id, 30)
        return told

    async with open_session(
        tool_wait=0.3, poll_interval=0.05, render_polls=100, output_dir=tmp_path
    ) as s:
        first = await s.data("export_video")
        monkeypatch.setattr(JobManager, "news", news_then_the_export_ends)
        again = await s.data("export_video")
    assert first["status"] == "running"
    assert again["status"] == "done" and again["job_id"] == first["job_id"]
    assert Path(again["path"]).read_bytes() == MP4
    assert fake.count("render_submit") == 1
