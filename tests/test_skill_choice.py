"""Which skill a request is for on a server of every skill: each row is a request a user might
make, with its media, and the skill it must reach (rules in ``nemo_mcp.skill_choice``)."""

from __future__ import annotations

import pytest

from nemo_mcp.manifests import load_manifests
from nemo_mcp.skill_choice import MediaMix, choose_skill, media_shapes, which_words

MANIFESTS = load_manifests()
DREAMFACE, INFINITE, LIPSYNC = "dreamface-ai", "infinite-talk-ai", "lipsyncvideo-ai"
IMAGE_TO_VIDEO, PICTURES = "meta-ai-image-to-video", "picture-to-video-ai"

CHOICES = [
    pytest.param("make my selfie sing this song", ["jpg", "mp3"], DREAMFACE, id="dreamface"),
    pytest.param("让这张自拍唱歌", ["jpg", "mp3"], DREAMFACE, id="zh-dreamface"),
    pytest.param(
        "make this portrait talk and loop it as an avatar", ["png", "wav"], INFINITE, id="infinite"
    ),
    pytest.param("做一个循环的数字人口播", ["jpg", "mp3"], INFINITE, id="zh-infinite"),
    pytest.param("dub this clip with my recording", ["mp4", "mp3"], LIPSYNC, id="lipsync"),
    pytest.param("给这个视频重新配音", ["mp4", "m4a"], LIPSYNC, id="zh-lipsync"),
    pytest.param("lip-sync this video to my audio", ["mov", "wav"], LIPSYNC, id="lipsync-words"),
    pytest.param("animate this image into a 5-second clip", ["jpg"], IMAGE_TO_VIDEO, id="i2v"),
    pytest.param("让这张图片动起来", ["heic"], IMAGE_TO_VIDEO, id="zh-i2v"),
    pytest.param(
        "turn these photos into a slideshow with transitions", ["jpg"] * 3, PICTURES, id="pictures"
    ),
    pytest.param("把这些照片做成幻灯片", ["jpg", "png"], PICTURES, id="zh-pictures"),
    # The media alone, as an upload sees them.
    pytest.param("", ["jpg", "jpg", "heic"], PICTURES, id="media-photos"),
    pytest.param("", ["mp4", "mp3"], LIPSYNC, id="media-video-audio"),
    pytest.param("", ["png"], IMAGE_TO_VIDEO, id="media-one-image"),
    # A named skill wins over everything.
    pytest.param("use DreamFace AI for this", ["jpg"] * 3, DREAMFACE, id="named-display"),
    pytest.param("with picture-to-video-ai please", [], PICTURES, id="named-slug"),
]


@pytest.mark.parametrize(("message", "types", "skill"), CHOICES)
def test_words_and_media_choose_the_skill(message: str, types: list[str], skill: str) -> None:
    choice = choose_skill(MANIFESTS, message, MediaMix.of(types))
    assert choice.skill == skill, choice.reason
    assert choice.candidates == ()


def test_two_equally_fitting_skills_are_asked_about() -> None:
    choice = choose_skill(MANIFESTS, "make this photo talk", MediaMix.of(["jpg", "mp3"]))
    assert choice.skill is None
    assert choice.candidates == (DREAMFACE, INFINITE)
    chinese = choose_skill(MANIFESTS, "让这张照片说话", MediaMix.of(["jpg", "mp3"]))
    assert chinese.candidates == (DREAMFACE, INFINITE)


def test_the_conversation_keeps_its_skill_unless_the_words_point_elsewhere() -> None:
    assert choose_skill(MANIFESTS, "add music", current=PICTURES).skill == PICTURES
    # Among the equally fitting, the current one stays.
    tied = choose_skill(MANIFESTS, "make it talk", MediaMix.of(["jpg", "mp3"]), current=INFINITE)
    assert tied.skill == INFINITE
    moved = choose_skill(MANIFESTS, "dub this video", MediaMix.of(["mp4", "mp3"]), PICTURES)
    assert moved.skill == LIPSYNC


def test_nothing_to_go_on_asks_among_all_or_takes_the_only_one() -> None:
    unclear = choose_skill(MANIFESTS, "add music")
    assert unclear.skill is None and unclear.candidates == tuple(MANIFESTS)
    one = {PICTURES: MANIFESTS[PICTURES]}
    assert choose_skill(one, "add music").skill == PICTURES


def test_a_skill_that_refuses_the_media_is_never_chosen() -> None:
    # A video rules out the photo-only skills even with their words.
    choice = choose_skill(MANIFESTS, "animate this", MediaMix.of(["mp4"]))
    assert choice.skill not in (IMAGE_TO_VIDEO, PICTURES)
    # HEIC rules out the skills without it, so the talking-photo words cannot win.
    assert choose_skill(MANIFESTS, "make it talk", MediaMix.of(["heic"])).skill == IMAGE_TO_VIDEO


def test_negated_words_do_not_count() -> None:
    words = MANIFESTS[INFINITE].choosing.words
    assert which_words("don't loop it, make my selfie talk", words) == ["talk"]
    assert which_words("不要循环", words) == []
    assert which_words("the photoshoot", MANIFESTS[PICTURES].choosing.words) == []


def test_media_shapes() -> None:
    assert media_shapes(MediaMix.of(["jpg"])) == {"one-image"}
    assert media_shapes(MediaMix.of(["jpg", "mp3"])) == {"one-image-audio"}
    assert media_shapes(MediaMix.of(["jpg", "png"])) == {"photos"}
    assert media_shapes(MediaMix.of(["mp4", "wav"])) == {"video-audio"}
    assert media_shapes(MediaMix.of(["mp4"])) == set()
    assert (MediaMix.of(["jpg"]) + MediaMix.of(["mp3"])).audios == 1
