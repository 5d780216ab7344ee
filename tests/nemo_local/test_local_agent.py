"""The local agent's rules, as a table: message + draft + uploads -> draft, calls, cost, reply."""

from __future__ import annotations

from typing import Any

import pytest

from nemo_local import drafts
from nemo_local.agent import MediaRef, plan_turn

IMG = [MediaRef(f"med_i{i}", f"photo{i}.jpg", "image") for i in range(3)]
SONG = MediaRef("med_song", "song.mp3", "audio", 30_000)
VOICE = MediaRef("med_voice", "voice.wav", "audio", 4_000)
CLIP = MediaRef("med_clip", "talk.mp4", "video", 8_000)
EMPTY: dict[str, Any] = {"canvas": {"width": 1080, "height": 1920}, "t": []}


def slideshow_draft() -> dict[str, Any]:
    """Three photos, 3 s each (9 s)."""
    return plan_turn("turn these photos into a video", EMPTY, IMG).draft


def track(draft: dict[str, Any], tt: int, role: str | None = None) -> dict[str, Any]:
    found = drafts.find(draft, tt, role)
    assert found is not None, f"no track tt={tt} role={role}"
    return found


def seg_meta(draft: dict[str, Any], tt: int, role: str | None = None) -> list[dict[str, Any]]:
    return [s["m"] for s in track(draft, tt, role)["sg"]]


@pytest.mark.parametrize(
    ("message", "media", "calls", "kind"),
    [
        pytest.param(
            "turn these photos into a video", IMG, ["build_slideshow"], "generation", id="p2v"
        ),
        pytest.param("make a slideshow", IMG, ["build_slideshow"], "generation", id="slideshow"),
        pytest.param("把这些照片做成视频", IMG, ["build_slideshow"], "generation", id="p2v-zh"),
        pytest.param(
            "turn these photos into a video with transitions and add this song at 30%",
            [*IMG, SONG],
            ["build_slideshow", "set_music"],
            "generation",
            id="p2v-and-music",
        ),
        pytest.param(
            "animate this image into a 5-second clip",
            IMG[:1],
            ["animate_image"],
            "generation",
            id="animate",
        ),
        pytest.param(
            "dub this clip with my recording",
            [CLIP, VOICE],
            ["replace_audio"],
            "generation",
            id="dub",
        ),
        pytest.param(
            "sync this voiceover", [CLIP, VOICE], ["replace_audio"], "generation", id="sync"
        ),
        pytest.param(
            "make this photo talk", [IMG[0], VOICE], ["talking_photo"], "generation", id="talk"
        ),
        pytest.param(
            "lip-sync this portrait to my voice",
            [IMG[0], VOICE],
            ["talking_photo"],
            "generation",
            id="lipsync-photo-is-talking-photo",
        ),
        pytest.param("add the title 'Summer'", IMG, ["add_title"], "edit", id="title"),
        pytest.param("添加标题「夏天」", IMG, ["add_title"], "edit", id="title-zh"),
        pytest.param("add a caption 'Beach day'", IMG, ["add_caption"], "edit", id="caption"),
        pytest.param(
            "add the title 'Export Music' please",
            [SONG],
            ["add_title"],
            "edit",
            id="words-in-quotes-are-content",
        ),
        pytest.param("make it better", IMG, [], "none", id="unknown"),
        pytest.param("", IMG, [], "none", id="empty"),
        pytest.param("turn these photos into a video", [], [], "none", id="p2v-without-photos"),
        pytest.param("dub this clip", [CLIP], [], "none", id="dub-without-audio"),
        pytest.param("add the title", IMG, [], "none", id="title-without-text"),
        pytest.param("add music", IMG, [], "none", id="music-without-audio"),
        pytest.param("don't add music", [SONG], [], "none", id="negated-music"),
    ],
)
def test_messages_map_to_tool_calls_and_kind(
    message: str, media: list[MediaRef], calls: list[str], kind: str
) -> None:
    turn = plan_turn(message, EMPTY, media)
    assert [c.name for c in turn.calls] == calls
    assert turn.kind == kind
    assert turn.cost == {"generation": 100, "edit": 50, "none": 0}[kind]
    assert turn.reply


def test_picture_to_video_uses_every_photo_with_motion_and_fades() -> None:
    draft = plan_turn("turn these photos into a video with transitions", EMPTY, IMG).draft
    metas = seg_meta(draft, drafts.VIDEO)
    assert [m["media_id"] for m in metas] == ["med_i0", "med_i1", "med_i2"]
    assert [m["motion"] for m in metas] == ["zoom_in", "zoom_out", "pan_left"]
    assert [m.get("transition") for m in metas] == ["fade", "fade", None]
    assert [(s["st"], s["d"]) for s in track(draft, drafts.VIDEO)["sg"]] == [
        (0, 3000),
        (3000, 3000),
        (6000, 3000),
    ]
    assert draft["canvas"] == {"width": 1080, "height": 1920}


@pytest.mark.parametrize(
    ("message", "durations", "transition"),
    [
        pytest.param("turn these photos into a 12-second video", [4000] * 3, "fade", id="total"),
        pytest.param("photos to video, 2 seconds each", [2000] * 3, "fade", id="each"),
        pytest.param("turn these photos into a video, no transitions", [3000] * 3, None, id="none"),
        pytest.param("slideshow with slide transitions", [3000] * 3, "slide", id="slide"),
        pytest.param("把这些照片做成10秒的视频", [3333, 3333, 3334], "fade", id="zh-seconds"),
    ],
)
def test_picture_to_video_options(
    message: str, durations: list[int], transition: str | None
) -> None:
    draft = plan_turn(message, EMPTY, IMG).draft
    assert [s["d"] for s in track(draft, drafts.VIDEO)["sg"]] == durations
    assert seg_meta(draft, drafts.VIDEO)[0].get("transition") == transition


@pytest.mark.parametrize(
    ("message", "ms", "motion"),
    [
        pytest.param("animate this image", 5000, "zoom_in", id="default-5s"),
        pytest.param("animate this image into a 8 second clip", 8000, "zoom_in", id="8s"),
        pytest.param("bring this photo to life with a zoom out", 5000, "zoom_out", id="zoom-out"),
        pytest.param("turn this picture into a video, pan left", 5000, "pan_left", id="pan-left"),
    ],
)
def test_animate_one_image(message: str, ms: int, motion: str) -> None:
    turn = plan_turn(message, EMPTY, IMG)
    segs = track(turn.draft, drafts.VIDEO)["sg"]
    assert len(segs) == 1
    assert segs[0]["m"]["media_id"] == "med_i2", "the latest image"
    assert (segs[0]["d"], segs[0]["m"]["motion"]) == (ms, motion)


def test_make_it_n_seconds_rescales_the_video_and_refits_music_and_caption() -> None:
    start = plan_turn(
        "turn these photos into a video and add this song at 30% and a caption 'Hi'",
        EMPTY,
        [*IMG, SONG],
    ).draft
    turn = plan_turn("make it 6 seconds", start, [*IMG, SONG])
    assert [c.name for c in turn.calls] == ["set_duration"]
    assert turn.kind == "edit"
    assert [s["d"] for s in track(turn.draft, drafts.VIDEO)["sg"]] == [2000, 2000, 2000]
    assert track(turn.draft, drafts.AUDIO, "bgm")["sg"][0]["d"] == 6000
    assert track(turn.draft, drafts.TEXT, "caption")["sg"][0]["d"] == 6000
    assert "6 seconds" in turn.reply


def test_make_it_shorter_than_the_title_cuts_the_title() -> None:
    start = plan_turn("photos into a video with the title 'Sun'", EMPTY, IMG).draft
    draft = plan_turn("make it 2 seconds", start, IMG).draft
    assert track(draft, drafts.TEXT, "title")["sg"][0]["d"] == 2000


def test_make_it_n_seconds_without_a_video_says_so_and_is_free() -> None:
    turn = plan_turn("make it 5 seconds", EMPTY, IMG)
    assert (turn.calls, turn.cost) == ((), 0)
    assert "no video" in turn.reply


@pytest.mark.parametrize(
    ("message", "role", "text", "span"),
    [
        pytest.param("add the title 'Summer'", "title", "Summer", (0, 3000), id="title"),
        pytest.param('add a title "Big Day"', "title", "Big Day", (0, 3000), id="double-quotes"),
        pytest.param(
            "add a title saying Hello World", "title", "Hello World", (0, 3000), id="saying"
        ),
        pytest.param(
            "add the caption 'By the sea'", "caption", "By the sea", (0, 9000), id="caption"
        ),
        pytest.param("加上字幕「海边」", "caption", "海边", (0, 9000), id="caption-zh"),
        pytest.param(
            "add the title 'Tom's trip'", "title", "Tom's trip", (0, 3000), id="apostrophe-inside"
        ),
        pytest.param("加上标题'你好'", "title", "你好", (0, 3000), id="ascii-quotes-in-chinese"),
        pytest.param('加上标题"你好"', "title", "你好", (0, 3000), id="double-quotes-in-chinese"),
        pytest.param("加上标题“你好”", "title", "你好", (0, 3000), id="typographic-in-chinese"),
        pytest.param("加上标题‘你好’", "title", "你好", (0, 3000), id="single-typographic-zh"),
        pytest.param("add the title “Summer”", "title", "Summer", (0, 3000), id="typographic-en"),
        pytest.param("добавь title 'Привет'", "title", "Привет", (0, 3000), id="ascii-cyrillic"),
    ],
)
def test_titles_and_captions(message: str, role: str, text: str, span: tuple[int, int]) -> None:
    turn = plan_turn(message, slideshow_draft(), IMG)
    seg = track(turn.draft, drafts.TEXT, role)["sg"][0]
    assert seg["m"]["text"] == text
    assert (seg["st"], seg["st"] + seg["d"]) == span
    assert text in turn.reply


def test_title_and_caption_in_one_message_take_their_own_quotes() -> None:
    turn = plan_turn("add the title 'A' and a caption 'B'", slideshow_draft(), IMG)
    assert seg_meta(turn.draft, drafts.TEXT, "title")[0]["text"] == "A"
    assert seg_meta(turn.draft, drafts.TEXT, "caption")[0]["text"] == "B"
    assert turn.cost == 50, "one charge per message"


def test_a_new_title_replaces_the_old_one() -> None:
    first = plan_turn("add the title 'One'", slideshow_draft(), IMG).draft
    second = plan_turn("change the title to 'Two'", first, IMG).draft
    titles = [t for t in drafts.tracks(second) if drafts.role(t) == "title"]
    assert [t["sg"][0]["m"]["text"] for t in titles] == ["Two"]


@pytest.mark.parametrize(
    ("message", "volume"),
    [
        pytest.param("add this song at 30%", 0.3, id="30%"),
        pytest.param("add music", 0.5, id="default-half"),
        pytest.param("use this song as background music at 80 percent", 0.8, id="percent-word"),
        pytest.param("加上背景音乐 20%", 0.2, id="zh"),
    ],
)
def test_music_spans_the_video_at_the_asked_volume(message: str, volume: float) -> None:
    turn = plan_turn(message, slideshow_draft(), [*IMG, SONG])
    seg = track(turn.draft, drafts.AUDIO, "bgm")["sg"][0]
    assert seg["m"]["media_id"] == "med_song"
    assert seg["m"]["volume"] == pytest.approx(volume)
    assert (seg["st"], seg["d"]) == (0, 9000)
    assert turn.kind == "edit"


def test_music_volume_change_keeps_the_song() -> None:
    start = plan_turn("add this song", slideshow_draft(), [*IMG, SONG]).draft
    turn = plan_turn("set the music volume to 20%", start, [*IMG, SONG])
    assert [c.name for c in turn.calls] == ["set_volume"]
    assert seg_meta(turn.draft, drafts.AUDIO, "bgm")[0]["volume"] == pytest.approx(0.2)


def test_music_without_a_video_is_refused_honestly() -> None:
    turn = plan_turn("add this song", EMPTY, [SONG])
    assert turn.cost == 0
    assert "no video" in turn.reply


def test_dub_mutes_the_video_and_adds_the_voice_and_says_lips_are_not_resynced() -> None:
    turn = plan_turn("replace the audio and match lip movements", EMPTY, [CLIP, VOICE])
    video = track(turn.draft, drafts.VIDEO)["sg"][0]
    voice = track(turn.draft, drafts.AUDIO, "voice")["sg"][0]
    assert (video["m"]["media_id"], video["m"]["mute"], video["d"]) == ("med_clip", True, 8000)
    assert (voice["m"]["media_id"], voice["d"]) == ("med_voice", 4000)
    assert "lips are not re-synthesized" in turn.reply
    assert turn.calls[0].result["lips_resynced"] is False


def test_talking_photo_lasts_as_long_as_the_voice_and_says_the_face_does_not_move() -> None:
    turn = plan_turn("make this photo talk", EMPTY, [IMG[0], VOICE])
    image = track(turn.draft, drafts.VIDEO)["sg"][0]
    assert (image["m"]["media_id"], image["m"]["motion"], image["d"]) == ("med_i0", "zoom_in", 4000)
    assert track(turn.draft, drafts.AUDIO, "voice")["sg"][0]["d"] == 4000
    assert "face does not move" in turn.reply


def test_a_voice_and_music_in_one_message_use_different_audio_files() -> None:
    turn = plan_turn("make this photo talk and add music at 10%", EMPTY, [IMG[0], SONG, VOICE])
    assert seg_meta(turn.draft, drafts.AUDIO, "voice")[0]["media_id"] == "med_voice"
    assert seg_meta(turn.draft, drafts.AUDIO, "bgm")[0]["media_id"] == "med_song"


@pytest.mark.parametrize(
    ("message", "tt", "role", "call"),
    [
        pytest.param("remove the title", drafts.TEXT, "title", "remove_title", id="title"),
        pytest.param("delete the caption", drafts.TEXT, "caption", "remove_caption", id="caption"),
        pytest.param("remove the music", drafts.AUDIO, "bgm", "remove_music", id="music"),
        pytest.param("去掉背景音乐", drafts.AUDIO, "bgm", "remove_music", id="music-zh"),
    ],
)
def test_removals(message: str, tt: int, role: str, call: str) -> None:
    full = plan_turn(
        "photos to video with the title 'T' and a caption 'C' and add this song",
        EMPTY,
        [*IMG, SONG],
    ).draft
    turn = plan_turn(message, full, [*IMG, SONG])
    assert [c.name for c in turn.calls] == [call]
    assert drafts.find(turn.draft, tt, role) is None
    assert len(drafts.tracks(turn.draft)) == 3


def test_removing_what_is_not_there_is_free_and_says_so() -> None:
    turn = plan_turn("remove the title", slideshow_draft(), IMG)
    assert (turn.calls, turn.cost) == ((), 0)
    assert "no title" in turn.reply


def test_unknown_request_lists_what_the_local_backend_can_do() -> None:
    turn = plan_turn("render it in 8K with a dragon", slideshow_draft(), IMG)
    assert turn.cost == 0
    assert "can't do that" in turn.reply
    assert "add the title" in turn.reply


def test_replies_use_the_clouds_gui_phrasing() -> None:
    assert plan_turn("photos to video", EMPTY, IMG).reply.endswith(
        "Your video is ready. Click the Export button to download it."
    )
    assert (
        "Preview it in the timeline."
        in plan_turn("add the title 'X'", slideshow_draft(), IMG).reply
    )


def test_chinese_messages_get_chinese_replies() -> None:
    turn = plan_turn("把这些照片做成视频，加上标题「夏天」", EMPTY, IMG)
    assert [c.name for c in turn.calls] == ["build_slideshow", "add_title"]
    assert "「夏天」" in turn.reply
    assert "导出" in turn.reply


@pytest.mark.parametrize("quote", ["'{}'", '"{}"', "“{}”", "「{}」"])
def test_a_chinese_request_with_any_quotes_gets_its_title_and_a_chinese_reply(quote: str) -> None:
    """The issue's words: ASCII quotes inside Chinese text are quotes too."""
    turn = plan_turn("把这些照片做成视频，加上标题" + quote.format("你好"), EMPTY, IMG)
    assert [c.name for c in turn.calls] == ["build_slideshow", "add_title"]
    assert seg_meta(turn.draft, drafts.TEXT, "title")[0]["text"] == "你好"
    assert "「你好」" in turn.reply and "标题要写什么" not in turn.reply


def test_the_input_draft_is_never_changed() -> None:
    start = slideshow_draft()
    before = repr(start)
    plan_turn("make it 20 seconds and add the title 'X'", start, IMG)
    assert repr(start) == before


@pytest.mark.parametrize(
    "draft",
    [
        pytest.param({}, id="no-tracks"),
        pytest.param({"t": "garbage"}, id="tracks-not-a-list"),
        pytest.param({"t": [None, 3, {"tt": 0, "sg": [None, {"d": "x"}]}]}, id="odd-items"),
        pytest.param({"t": [{"tt": 0, "sg": [{"s": 500, "d": 1000}, {"d": 2000}]}]}, id="s-key"),
    ],
)
def test_strange_drafts_never_crash(draft: dict[str, Any]) -> None:
    for message in ("make it 5 seconds", "add the title 'X'", "remove the music", "add music"):
        plan_turn(message, draft, [*IMG, SONG])


def test_rescale_keeps_the_total_exact() -> None:
    video = {
        "tt": 0,
        "sg": [{"st": 0, "d": 1000}, {"st": 1000, "d": 1000}, {"st": 2000, "d": 1000}],
    }
    drafts.rescale(video, 10_000)
    assert [s["d"] for s in video["sg"]] == [3333, 3333, 3334]
    assert [s["st"] for s in video["sg"]] == [0, 3333, 6666]
