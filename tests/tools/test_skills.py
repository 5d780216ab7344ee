"""One server of every skill, in memory: the five tools once, each call under exactly one
skill (by its argument, else by the words and media), with that skill's headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.manifests import Manifest
from nemo_mcp.samples import make_photo
from tests.fakes.backend import FakeBackend

DREAMFACE, INFINITE, LIPSYNC = "dreamface-ai", "infinite-talk-ai", "lipsyncvideo-ai"
IMAGE_TO_VIDEO, PICTURES = "meta-ai-image-to-video", "picture-to-video-ai"


def sources(fake: FakeBackend, route: str) -> list[str]:
    """The skill each request of ``route`` was attributed to, in order."""
    return [r.headers["X-Skill-Source"] for r in fake.requests if fake.route_of(r) == route]


def versions(fake: FakeBackend, route: str) -> set[str]:
    return {r.headers["X-Skill-Version"] for r in fake.requests if fake.route_of(r) == route}


async def test_the_five_tools_appear_once_with_a_skill_enum_and_every_skills_prompts(
    open_session: Any, manifests: dict[str, Manifest]
) -> None:
    async with open_session(skills=manifests) as s:
        tools = (await s.client.list_tools()).tools
        prompts = (await s.client.list_prompts()).prompts
    names = sorted(t.name for t in tools)
    assert names == ["check_credits", "export_video", "get_timeline", "send_edit", "upload_media"]
    for tool in tools:
        assert tool.input_schema["properties"]["skill"]["enum"] == list(manifests)
    send_edit = next(t for t in tools if t.name == "send_edit")
    described = send_edit.input_schema["properties"]["skill"]["description"]
    assert all(name in described for name in manifests), "a sentence for each skill"
    # Measured as the stdio test measures one skill's (with spaces; the wire has none).
    listing = json.dumps(
        [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    )
    assert len(listing) < 7000, len(listing)
    titles = {p.title for p in prompts}
    for manifest in manifests.values():
        assert set(manifest.examples) <= titles


async def test_a_server_of_one_skill_has_no_skill_argument(open_session: Any) -> None:
    async with open_session() as s:
        tools = (await s.client.list_tools()).tools
    assert all("skill" not in t.input_schema.get("properties", {}) for t in tools)


WORDS = [
    pytest.param("make my selfie sing", DREAMFACE, id="dreamface"),
    pytest.param("让这张自拍唱歌", DREAMFACE, id="zh-dreamface"),
    pytest.param("make a looping talking avatar from my voiceover", INFINITE, id="infinite"),
    pytest.param("做一个循环的数字人口播", INFINITE, id="zh-infinite"),
    pytest.param("dub this clip with my recording", LIPSYNC, id="lipsync"),
    pytest.param("给这个视频重新配音", LIPSYNC, id="zh-lipsync"),
    pytest.param("animate this image into a 5-second clip", IMAGE_TO_VIDEO, id="i2v"),
    pytest.param("让这张图片动起来", IMAGE_TO_VIDEO, id="zh-i2v"),
    pytest.param("turn my photos into a slideshow", PICTURES, id="pictures"),
    pytest.param("把这些照片做成幻灯片", PICTURES, id="zh-pictures"),
]


@pytest.mark.parametrize(("message", "skill"), WORDS)
async def test_the_words_choose_the_skill_and_its_headers(
    open_session: Any, manifests: dict[str, Manifest], fake: FakeBackend, message: str, skill: str
) -> None:
    async with open_session(skills=manifests) as s:
        data = await s.data("send_edit", {"message": message})
    assert data["status"] == "done", data
    assert set(sources(fake, "run_sse")) == {skill}
    assert set(sources(fake, "session")) == {skill}, "the session is the chosen skill's"
    assert versions(fake, "run_sse") == {manifests[skill].version}


async def test_two_equally_fitting_skills_are_asked_about_and_nothing_is_sent(
    open_session: Any, manifests: dict[str, Manifest], fake: FakeBackend
) -> None:
    async with open_session(skills=manifests) as s:
        words = await s.error("send_edit", {"message": "make this photo talk"})
        chosen = await s.data("send_edit", {"message": "make this photo talk", "skill": INFINITE})
    assert "Which skill should do this?" in words
    assert DREAMFACE in words and INFINITE in words and PICTURES not in words
    assert "`skill`" in words
    assert chosen["status"] == "done"
    assert sources(fake, "run_sse") == [INFINITE]


async def test_the_media_choose_an_upload_and_the_conversation_stays_there(
    open_session: Any, manifests: dict[str, Manifest], fake: FakeBackend, tmp_path: Path
) -> None:
    photos = [make_photo(tmp_path / "media" / f"p{i}.jpg", i, (64, 64)) for i in range(3)]
    async with open_session(skills=manifests) as s:
        await s.data("upload_media", {"paths": [str(p) for p in photos]})
        await s.data("send_edit", {"message": "add music"})
        await s.data("check_credits")
        await s.data("send_edit", {"message": "dub this video with new audio"})
    assert set(sources(fake, "upload")) == {PICTURES}
    assert sources(fake, "run_sse") == [PICTURES, LIPSYNC], "follow-ups stay; new words move"
    assert sources(fake, "credits")[-1] == PICTURES


async def test_an_unknown_skill_is_refused_in_words(
    open_session: Any, manifests: dict[str, Manifest], fake: FakeBackend
) -> None:
    async with open_session(skills=manifests) as s:
        words = await s.error("get_timeline", {"skill": "no-such-skill"})
    assert "no-such-skill" in words and PICTURES in words
    assert fake.count("state") == 0
