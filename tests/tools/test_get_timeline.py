"""``get_timeline`` and the timeline resource in memory."""

from __future__ import annotations

import json
from typing import Any

import anyio

from tests.fakes.backend import FakeBackend, held, reply

DRAFT = {
    "t": [
        {"tt": 0, "sg": [{"st": 0, "d": 10000, "m": {"name": "city timelapse"}}]},
        {
            "tt": 1,
            "m": {"role": "bgm"},
            "sg": [{"st": 0, "d": 10000, "m": {"name": "Lo-fi", "volume": 0.35}}],
        },
        {"tt": 7, "sg": [{"st": 0, "d": 3000, "m": {"text": "Urban Dreams"}}]},
    ]
}


async def test_the_summary_tracks_and_readiness(open_session: Any, fake: FakeBackend) -> None:
    fake.draft = DRAFT
    async with open_session() as s:
        data = await s.data("get_timeline")
    assert data["summary"] == (
        "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
        '3. Title: "Urban Dreams" (0-3s)'
    )
    assert data["ready"] and data["duration_ms"] == 10000
    assert [(t["kind"], t["name"], t["volume_pct"]) for t in data["tracks"]] == [
        ("video", "Video", None), ("audio", "BGM", 35), ("text", "Title", None),
    ]  # fmt: skip
    assert data["jobs"] == []


async def test_running_and_finished_work_is_listed_and_finished_work_told_once(
    open_session: Any, fake: FakeBackend
) -> None:
    release = anyio.Event()
    fake.fail("run_sse", held(release, reply("Made it.")))
    async with open_session(tool_wait=0.2) as s:
        await s.data("send_edit", {"message": "make a video"})
        running = await s.data("get_timeline")
        release.set()
        with anyio.fail_after(5):
            while (told := await s.data("get_timeline"))["jobs"][0]["status"] != "done":
                await anyio.sleep(0.02)
        after = await s.data("get_timeline")
    (job,) = running["jobs"]
    assert (job["kind"], job["status"], job["what"]) == ("edit", "running", "make a video")
    assert told["jobs"][0]["message"] == "Made it."
    assert after["jobs"] == []


async def test_the_resource_has_the_summary_and_the_draft(
    open_session: Any, fake: FakeBackend
) -> None:
    fake.draft = DRAFT
    async with open_session() as s:
        result = await s.client.read_resource("nemo://timeline/current")
    body = json.loads(result.contents[0].text)  # type: ignore[union-attr]
    assert body["ready"] and body["draft"] == DRAFT and body["summary"].startswith("Timeline (3")
