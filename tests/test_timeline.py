"""Tests for the pure draft reader: summaries, lenient keys, junk, readiness and diffs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic
import pytest

from nemo_mcp.timeline import (
    Timeline,
    describe_changes,
    diff,
    is_ready,
    parse_draft,
    summarize,
)

Json = dict[str, Any]


def seg(d: object = 1000, st: object = None, **meta: object) -> Json:
    """A segment in our convention; ``st`` omitted when None so starts chain."""
    segment: Json = {"d": d, "m": meta}
    if st is not None:
        segment["st"] = st
    return segment


def track(tt: object, *segments: Json, **meta: object) -> Json:
    out: Json = {"tt": tt, "sg": list(segments)}
    if meta:
        out["m"] = meta
    return out


def draft(*tracks: object, **extra: object) -> Json:
    return {"t": list(tracks), **extra}


CITY_SUMMARY = (
    "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%)"
    ' 3. Title: "Urban Dreams" (0-3s)'
)
INTERVIEW_SUMMARY = (
    "Timeline (2 tracks): 1. Video: interview clip (0-45s) 2. Audio: dubbed voiceover (0-45s)"
)

# docs/draft-format.md, as the local backend writes it.
CITY = draft(
    track(
        0,
        seg(10000, 0, name="city timelapse", media_id="med_1", kind="video", motion="none"),
        name="Main",
    ),
    track(1, seg(10000, 0, name="Lo-fi", media_id="med_2", kind="audio", volume=0.35, role="bgm")),
    track(7, seg(3000, 0, text="Urban Dreams", kind="text", role="title")),
    canvas={"width": 1080, "height": 1920},
)
# Only the documented keys t/tt/sg/d/m, as the cloud might write them.
CITY_CLOUD: Json = {
    "t": [
        {"tt": 0, "sg": [{"d": 10000, "m": {"title": "city timelapse"}}]},
        {
            "tt": 1,
            "m": {"name": "BGM"},
            "sg": [{"d": 10000, "m": {"title": "Lo-fi", "volume": 35}}],
        },
        {"tt": 7, "sg": [{"d": 3000, "m": {"text": "Urban Dreams"}}]},
    ],
    "d": 10000,
}
INTERVIEW = draft(
    track(0, seg(45000, 0, name="interview clip", media_id="med_v", kind="video", mute=True)),
    track(1, seg(45000, 0, name="dubbed voiceover", media_id="med_a", kind="audio", role="voice")),
)
INTERVIEW_CLOUD: Json = {
    "t": [
        {"tt": 0, "sg": [{"d": 45000, "m": {"name": "interview clip"}}]},
        {"tt": 1, "sg": [{"d": 45000, "m": {"name": "dubbed voiceover"}}]},
    ]
}


def video(*segments: Json, **meta: object) -> Json:
    return draft(track(0, *segments, **meta))


def one_track(tt: object, *segments: Json, **meta: object) -> str:
    """The summary text after "Timeline (1 track): 1. "."""
    text = summarize(parse_draft(draft(track(tt, *segments, **meta))))
    prefix = "Timeline (1 track): 1. "
    assert text.startswith(prefix), text
    return text.removeprefix(prefix)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(CITY, CITY_SUMMARY, id="city-our-convention"),
        pytest.param(CITY_CLOUD, CITY_SUMMARY, id="city-cloud-minimal"),
        pytest.param(INTERVIEW, INTERVIEW_SUMMARY, id="interview-our-convention"),
        pytest.param(INTERVIEW_CLOUD, INTERVIEW_SUMMARY, id="interview-cloud-minimal"),
        pytest.param({}, "Timeline (0 tracks): empty", id="empty-dict"),
        pytest.param(None, "Timeline (0 tracks): empty", id="none"),
        pytest.param({"t": []}, "Timeline (0 tracks): empty", id="no-tracks"),
        pytest.param(
            video(seg(5000, name="a.mp4")),
            "Timeline (1 track): 1. Video: a.mp4 (0-5s)",
            id="singular-track",
        ),
        pytest.param(
            draft(None, "x", 3, track(0, seg(2000, name="a.jpg"))),
            "Timeline (1 track): 1. Video: a.jpg (0-2s)",
            id="non-dict-tracks-skipped-and-not-counted",
        ),
    ],
)
def test_summary(raw: object, expected: str) -> None:
    assert summarize(parse_draft(raw)) == expected


@pytest.mark.parametrize(
    ("tt", "segments", "meta", "expected"),
    [
        pytest.param(
            0,
            [seg(3000, name="beach.jpg"), seg(3000, name="hills.jpg"), seg(3000, name="sea.jpg")],
            {},
            "Video: beach.jpg, hills.jpg +1 more (0-9s)",
            id="three-clips-two-shown",
        ),
        pytest.param(
            0,
            [seg(3000, name="beach.jpg"), seg(3000, name="hills.jpg")],
            {},
            "Video: beach.jpg, hills.jpg (0-6s)",
            id="two-clips-both-shown",
        ),
        pytest.param(
            0,
            [seg(3000, name="beach.jpg"), seg(3000), seg(3000)],
            {},
            "Video: beach.jpg +2 more (0-9s)",
            id="unlabelled-clips-counted-in-more",
        ),
        pytest.param(0, [seg(3000)] * 3, {}, "Video: 3 clips (0-9s)", id="no-labels-counted"),
        pytest.param(0, [seg(3000)], {}, "Video: untitled (0-3s)", id="no-label-untitled"),
        pytest.param(
            0,
            [seg(3000)] * 2,
            {"name": "Photos"},
            "Video: Photos (0-6s)",
            id="track-label-fallback",
        ),
        pytest.param(0, [], {"name": "Photos"}, "Video: Photos (empty)", id="track-without-clips"),
        pytest.param(0, [], {}, "Video: untitled (empty)", id="bare-empty-track"),
        pytest.param(0, [seg(2500, name="a")], {}, "Video: a (0-2.5s)", id="half-second"),
        pytest.param(0, [seg(2500, 1200, name="a")], {}, "Video: a (1.2-3.7s)", id="decimal-start"),
        pytest.param(0, [seg(2950, name="a")], {}, "Video: a (0-3s)", id="rounds-to-whole"),
        pytest.param(0, [seg(2549, name="a")], {}, "Video: a (0-2.5s)", id="rounds-down"),
        pytest.param(0, [seg(2550, name="a")], {}, "Video: a (0-2.6s)", id="rounds-half-up"),
        pytest.param(0, [seg(40, name="a")], {}, "Video: a (0-0s)", id="tiny-clip"),
        pytest.param(
            0,
            [seg(1000, 0, name="a"), seg(1000, 5000, name="b")],
            {},
            "Video: a, b (0-6s)",
            id="span-covers-gap",
        ),
        pytest.param(
            0,
            [seg(1000, 4000, name="late"), seg(1000, 1000, name="early")],
            {},
            "Video: late, early (1-5s)",
            id="span-min-start-max-end",
        ),
        pytest.param(
            0, [seg(1000, name="a", volume=0.5)], {}, "Video: a (0-1s)", id="no-volume-on-video"
        ),
        pytest.param(
            1,
            [seg(4000, name="voice.mp3", volume=0.8, role="voice")],
            {},
            "Audio: voice.mp3 (0-4s, 80%)",
            id="voice-is-audio-with-level",
        ),
        pytest.param(
            1, [seg(4000, name="x.mp3")], {"type": "music"}, "BGM: x.mp3 (0-4s)", id="bgm-from-type"
        ),
        pytest.param(
            1,
            [seg(4000, name="x.mp3", volume="35%")],
            {"role": "bgm"},
            "BGM: x.mp3 (0-4s, 35%)",
            id="percent-string-volume",
        ),
        pytest.param(
            7,
            [seg(2000, text="Hello", role="caption")],
            {},
            'Caption: "Hello" (0-2s)',
            id="caption",
        ),
        pytest.param(
            7,
            [seg(2000, text="Hi")],
            {"name": "Subtitles"},
            'Caption: "Hi" (0-2s)',
            id="caption-from-track-name",
        ),
        pytest.param(
            7,
            [seg(1000, text="Hi"), seg(1000, text="There"), seg(1000, text="Bye")],
            {"role": "caption"},
            'Caption: "Hi", "There" +1 more (0-3s)',
            id="captions-each-quoted",
        ),
        pytest.param(
            7,
            [seg(3000, name="Title 1", text="Urban Dreams")],
            {},
            'Title: "Urban Dreams" (0-3s)',
            id="text-shows-text-before-name",
        ),
        pytest.param(7, [seg(3000)], {}, "Title: untitled (0-3s)", id="text-without-words"),
        pytest.param(
            3, [seg(1000, name="sticker.png")], {}, "Track: sticker.png (0-1s)", id="tt-3"
        ),
        pytest.param(
            0,
            [seg(1000, name="An extremely long file name for a tiny clip.mp4")],
            {},
            "Video: An extremely long file name for a tin... (0-1s)",
            id="long-label-cut",
        ),
        pytest.param(
            1, [seg(1000, name="  Lo-fi \n\t beats ")], {}, "Audio: Lo-fi beats (0-1s)", id="spaces"
        ),
        pytest.param(
            "1", [seg("2000", name="a.mp3")], {}, "Audio: a.mp3 (0-2s)", id="string-type-code"
        ),
    ],
)
def test_track_entry(tt: object, segments: list[Json], meta: Json, expected: str) -> None:
    assert one_track(tt, *segments, **meta) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {
                "tracks": [
                    {
                        "type": 1,
                        "segments": [
                            {"start": "0", "duration": "2000", "metadata": {"name": "a.mp3"}}
                        ],
                    }
                ]
            },
            "Timeline (1 track): 1. Audio: a.mp3 (0-2s)",
            id="long-keys",
        ),
        pytest.param(
            {"t": [{"type": "audio", "sg": [{"d": 2000, "m": {"name": "a.mp3"}}]}]},
            "Timeline (1 track): 1. Audio: a.mp3 (0-2s)",
            id="type-word",
        ),
        pytest.param(
            {"t": [{"sg": [{"d": 2000, "m": {"name": "a.mp3", "kind": "audio"}}]}]},
            "Timeline (1 track): 1. Audio: a.mp3 (0-2s)",
            id="kind-from-segments",
        ),
        pytest.param(
            {"t": [{"sg": [{"d": 2000, "m": {"text": "Hi", "role": "caption"}}]}]},
            'Timeline (1 track): 1. Caption: "Hi" (0-2s)',
            id="kind-from-role",
        ),
        pytest.param(
            {"t": "x", "tracks": [{"tt": 0, "sg": [{"d": 1000}]}]},
            "Timeline (1 track): 1. Video: untitled (0-1s)",
            id="garbage-short-key-falls-back",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": "x", "segments": [{"d": 1000, "m": {"name": "a"}}]}]},
            "Timeline (1 track): 1. Video: a (0-1s)",
            id="garbage-sg-falls-back",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 1000, "m": "junk", "metadata": {"name": "a"}}]}]},
            "Timeline (1 track): 1. Video: a (0-1s)",
            id="garbage-m-falls-back",
        ),
    ],
)
def test_lenient_shapes(raw: object, expected: str) -> None:
    assert summarize(parse_draft(raw)) == expected


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param([{"st": 1500, "d": 1000}], [(1500, 2500)], id="st"),
        pytest.param([{"s": 1500, "d": 1000}], [(1500, 2500)], id="s"),
        pytest.param([{"start": 1500, "d": 1000}], [(1500, 2500)], id="start"),
        pytest.param([{"st": "1500", "d": "1000"}], [(1500, 2500)], id="numeric-strings"),
        pytest.param([{"st": 1500.4, "d": 998.5}], [(1500, 2499)], id="floats-round-half-up"),
        pytest.param([{"st": "abc", "s": 700, "d": 100}], [(700, 800)], id="garbage-st-then-s"),
        pytest.param(
            [{"d": 1000}, {"d": 2000}, {"d": 500}],
            [(0, 1000), (1000, 3000), (3000, 3500)],
            id="missing-starts-chain",
        ),
        pytest.param(
            [{"st": 5000, "d": 1000}, {"d": 1000}],
            [(5000, 6000), (6000, 7000)],
            id="chain-after-st",
        ),
        pytest.param(
            [{"d": 1000}, {"st": -5, "d": 1000}], [(0, 1000), (1000, 2000)], id="negative-chains"
        ),
        pytest.param(
            [{"d": 1000}, {"st": float("nan"), "d": 1000}],
            [(0, 1000), (1000, 2000)],
            id="nan-chains",
        ),
        pytest.param([{"st": "inf", "d": 1000}], [(0, 1000)], id="inf-string-missing"),
        pytest.param([{"st": 1e30, "d": 1000}], [(0, 1000)], id="absurd-start-missing"),
        pytest.param([{"st": True, "d": True}], [(0, 0)], id="bool-is-not-a-number"),
        pytest.param([{"st": 100}], [(100, 100)], id="missing-duration-is-zero"),
        pytest.param([{"d": -3000}, {"d": "x"}], [(0, 0), (0, 0)], id="bad-durations-zero"),
        pytest.param([{"duration": 2000}], [(0, 2000)], id="long-duration-key"),
        pytest.param([5, None, {"d": 1000}], [(0, 1000)], id="non-dict-segments-skipped"),
    ],
)
def test_segment_timing(segments: list[object], expected: list[tuple[int, int]]) -> None:
    (parsed,) = parse_draft({"t": [{"tt": 0, "sg": segments}]}).tracks
    assert [(s.start_ms, s.end_ms) for s in parsed.segments] == expected


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        pytest.param({"name": "a.jpg", "title": "T", "text": "x"}, "a.jpg", id="name-first"),
        pytest.param({"title": "T", "text": "x"}, "T", id="title-second"),
        pytest.param({"text": "x"}, "x", id="text-third"),
        pytest.param({"name": "  ", "title": "T"}, "T", id="blank-name-skipped"),
        pytest.param({"name": 5, "title": "T"}, "T", id="non-string-name-skipped"),
        pytest.param({"volume": 1}, None, id="no-label"),
        pytest.param("junk", None, id="m-not-a-dict"),
    ],
)
def test_segment_label(meta: object, expected: str | None) -> None:
    (parsed,) = parse_draft({"t": [{"tt": 0, "sg": [{"d": 1, "m": meta}]}]}).tracks
    assert parsed.segments[0].label == expected


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        pytest.param(0.35, 35, id="fraction"),
        pytest.param(1, 100, id="one-is-full"),
        pytest.param(0, 0, id="zero-is-silent"),
        pytest.param(35, 35, id="percent"),
        pytest.param(2.5, 3, id="above-one-is-percent-half-up"),
        pytest.param(150, 100, id="clamped"),
        pytest.param("0.5", 50, id="string-fraction"),
        pytest.param("35", 35, id="string-percent"),
        pytest.param(" 80% ", 80, id="percent-sign"),
        pytest.param("0.5%", 1, id="percent-sign-is-always-percent"),
        pytest.param(True, None, id="bool"),
        pytest.param(-0.5, None, id="negative"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param("loud", None, id="word"),
        pytest.param([0.5], None, id="list"),
    ],
)
def test_volume(volume: object, expected: int | None) -> None:
    (parsed,) = parse_draft(draft(track(1, seg(1000, volume=volume)))).tracks
    assert parsed.segments[0].volume_pct == expected
    assert parsed.volume_pct == expected


@pytest.mark.parametrize(
    ("raw_track", "expected"),
    [
        pytest.param(track(1, seg(volume=0.3), seg(volume=30)), 30, id="segments-agree"),
        pytest.param(track(1, seg(volume=0.3), seg()), 30, id="unset-segments-ignored"),
        pytest.param(track(1, seg(volume=0.3), seg(volume=0.5)), None, id="segments-disagree"),
        pytest.param(track(1, seg(volume=0.3), volume=0.6), 60, id="track-level-wins"),
        pytest.param(track(1, seg(volume=0.3), volume="x"), 30, id="garbage-track-level"),
    ],
)
def test_track_volume(raw_track: Json, expected: int | None) -> None:
    assert parse_draft(draft(raw_track)).tracks[0].volume_pct == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"draft": CITY}, id="state-dict"),
        pytest.param({"state": {"draft": CITY, "video_infos": []}}, id="state-answer"),
        pytest.param({"code": 0, "data": {"state": {"draft": CITY}}}, id="envelope"),
        pytest.param(json.dumps(CITY), id="json-text"),
        pytest.param(json.dumps(CITY).encode(), id="json-bytes"),
        pytest.param({"state": {"draft": json.dumps(CITY)}}, id="draft-as-json-text"),
    ],
)
def test_wrapped_draft(raw: object) -> None:
    assert summarize(parse_draft(raw)) == CITY_SUMMARY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(CITY, (1080, 1920), id="draft-canvas"),
        pytest.param(CITY_CLOUD, None, id="absent"),
        pytest.param(
            {"draft": CITY_CLOUD, "canvas_config": {"width": "1920", "height": 1080}},
            (1920, 1080),
            id="state-canvas-config",
        ),
        pytest.param({"t": [], "canvas": {"w": 720, "h": 1280}}, (720, 1280), id="short-keys"),
        pytest.param({"t": [], "canvas": {"width": 0, "height": 5}}, None, id="zero"),
        pytest.param({"t": [], "canvas": [1080, 1920]}, None, id="not-a-dict"),
    ],
)
def test_canvas(raw: object, expected: tuple[int, int] | None) -> None:
    assert parse_draft(raw).canvas == expected


def test_track_fields_from_our_convention() -> None:
    video_track, bgm, title = parse_draft(CITY).tracks
    assert [t.index for t in (video_track, bgm, title)] == [1, 2, 3]
    assert [t.kind for t in (video_track, bgm, title)] == ["video", "audio", "text"]
    assert [t.type_code for t in (video_track, bgm, title)] == [0, 1, 7]
    assert [t.role for t in (video_track, bgm, title)] == [None, "bgm", "title"]
    assert [t.name for t in (video_track, bgm, title)] == ["Video", "BGM", "Title"]
    assert video_track.label == "city timelapse"
    assert video_track.own_label == "Main"
    assert video_track.segments[0].media_id == "med_1"
    assert video_track.segments[0].kind == "video"
    assert title.segments[0].text == "Urban Dreams"
    assert (title.start_ms, title.end_ms) == (0, 3000)


@pytest.mark.parametrize(
    ("raw_track", "kind", "code", "role"),
    [
        pytest.param({"tt": 9}, "other", 9, None, id="unknown-code"),
        pytest.param({"tt": "x"}, "other", None, None, id="garbage-code"),
        pytest.param({"tt": 1.0}, "audio", 1, None, id="float-code"),
        pytest.param({"tt": 0, "m": {"role": "bgm"}}, "video", 0, None, id="role-not-for-video"),
        pytest.param({"tt": 1, "m": {"name": "Music"}}, "audio", 1, "bgm", id="named-music"),
        pytest.param(
            {"tt": 1, "m": {"role": "voice-over"}}, "audio", 1, "voice", id="voice-over-spelling"
        ),
        pytest.param({"tt": 7, "m": {"role": "Subtitle"}}, "text", 7, "caption", id="subtitle"),
    ],
)
def test_track_kind_and_role(raw_track: Json, kind: str, code: int | None, role: str) -> None:
    (parsed,) = parse_draft({"t": [raw_track]}).tracks
    assert (parsed.kind, parsed.type_code, parsed.role) == (kind, code, role)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(CITY, 10000, id="latest-end"),
        pytest.param(video(seg(1000, 9000), seg(500, 0)), 10000, id="latest-not-last"),
        pytest.param({"t": [], "d": 7000}, 7000, id="draft-d-when-no-segments"),
        pytest.param({"t": [], "duration": "7000"}, 7000, id="draft-duration-long-key"),
        pytest.param({"t": [], "d": "junk"}, 0, id="junk-d"),
    ],
)
def test_duration(raw: object, expected: int) -> None:
    assert parse_draft(raw).duration_ms == expected


def _deep(levels: int) -> object:
    nested: object = []
    for _ in range(levels):
        nested = [nested, {"t": nested}]
    return nested


WEIRD: list[object] = [
    None,
    [],
    "x",
    "",
    b"\xff\xfe",
    "[" * 100_000,
    "9" * 5000,
    0,
    -1,
    True,
    float("nan"),
    float("inf"),
    10**400,
    object(),
    {1: 2, (3, 4): 5},
    {"t": "x"},
    {"t": None},
    {"t": {"tt": 0}},
    {"t": [1, None, {"sg": 5}]},
    {"t": [{"tt": [], "sg": [None, 1, "x", [], {"d": {}}]}]},
    {"t": [{"tt": 10**400, "sg": [{"st": 10**400, "d": "9" * 5000, "m": {"volume": 10**400}}]}]},
    {"t": [{"tt": float("nan"), "sg": [{"st": float("inf"), "d": float("-inf")}]}]},
    {"t": [{"m": [], "sg": [{"m": {"name": {"x": 1}, "volume": {}, "role": []}}]}]},
    {"t": [{"tt": _deep(500), "sg": _deep(500), "m": _deep(500)}], "canvas": _deep(500)},
    {"t": _deep(5000)},
    {"draft": {"draft": {"draft": {"draft": {"draft": {"t": [{"tt": 0}]}}}}}},
    {"draft": "not json", "canvas_config": "junk"},
    {"state": None, "data": 5},
]


@pytest.mark.parametrize("raw", [pytest.param(v, id=f"weird-{i}") for i, v in enumerate(WEIRD)])
def test_garbage_never_raises(raw: object) -> None:
    timeline = parse_draft(raw)
    assert summarize(timeline).startswith("Timeline (")
    assert isinstance(is_ready(timeline), bool)
    assert diff(timeline, timeline) == []
    assert diff(Timeline(), timeline) == diff(Timeline(), parse_draft(raw))
    assert isinstance(describe_changes(parse_draft(CITY), timeline), str)
    timeline.model_dump()


def test_garbage_reads_what_it_can() -> None:
    timeline = parse_draft({"t": [1, None, {"sg": 5}, {"tt": 0, "sg": [None, {"d": 1000}]}]})
    assert [(t.index, t.kind, len(t.segments)) for t in timeline.tracks] == [
        (1, "other", 0),
        (2, "video", 1),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(CITY, True, id="city"),
        pytest.param(CITY_CLOUD, True, id="cloud"),
        pytest.param({"state": {"draft": CITY}}, True, id="wrapped"),
        pytest.param(None, False, id="none"),
        pytest.param({}, False, id="no-t"),
        pytest.param({"t": []}, False, id="no-tracks"),
        pytest.param({"t": "x"}, False, id="t-not-a-list"),
        pytest.param(draft(track(0)), False, id="empty-sg"),
        pytest.param({"t": [{"tt": 0}]}, False, id="no-sg"),
        pytest.param({"t": [{"tt": 0, "sg": "x"}]}, False, id="sg-not-a-list"),
        pytest.param({"t": [{"tt": 0, "sg": [5, None]}]}, False, id="sg-without-dicts"),
        pytest.param(draft(track(0), track(7, seg(1000))), True, id="second-track-has-sg"),
        pytest.param({"t": [{"sg": [{}]}]}, True, id="bare-segment-counts"),
        pytest.param({"tracks": [{"segments": [{"d": 1}]}]}, True, id="long-keys"),
    ],
)
def test_is_ready(raw: object, expected: bool) -> None:
    assert is_ready(parse_draft(raw)) is expected


VIDEO_10 = track(0, seg(10000, 0, name="clip.mp4", media_id="m1"))
BGM_35 = track(1, seg(10000, 0, name="Lo-fi", volume=0.35, role="bgm"))
TITLE_A = track(7, seg(3000, 0, text="A"))
THREE = [seg(3000, name=f"p{i}.jpg") for i in range(3)]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(CITY, CITY, [], id="equal"),
        pytest.param(CITY, json.loads(json.dumps(CITY)), [], id="equal-copies"),
        pytest.param({}, {"t": []}, [], id="both-empty"),
        pytest.param(
            draft(VIDEO_10),
            draft(VIDEO_10, track(7, seg(3000, 0, text="Paradise Found"))),
            ["Title added: 'Paradise Found' (0-3s)"],
            id="title-added",
        ),
        pytest.param(draft(VIDEO_10, BGM_35), draft(VIDEO_10), ["BGM removed"], id="bgm-removed"),
        pytest.param(
            draft(VIDEO_10),
            video(seg(8000, 0, name="clip.mp4", media_id="m1")),
            ["Video 1 trimmed to 0-8s"],
            id="video-trimmed",
        ),
        pytest.param(
            draft(VIDEO_10),
            video(seg(12000, 0, name="clip.mp4", media_id="m1")),
            ["Video 1 extended to 0-12s"],
            id="video-extended",
        ),
        pytest.param(
            draft(TITLE_A),
            draft(track(7, seg(3000, 2000, text="A"))),
            ["Title moved to 2-5s"],
            id="title-moved",
        ),
        pytest.param(
            draft(TITLE_A),
            draft(track(7, seg(3000, 0, text="B"))),
            ["Title changed: 'A' -> 'B'"],
            id="title-text-changed",
        ),
        pytest.param(
            draft(track(1, seg(5000, name="old.mp3"))),
            draft(track(1, seg(5000, name="new.wav"))),
            ["Audio replaced: 'old.mp3' -> 'new.wav'"],
            id="audio-replaced",
        ),
        pytest.param(
            draft(VIDEO_10),
            video(seg(10000, 0, name="clip.mp4", media_id="m2")),
            ["Video 1: media replaced"],
            id="same-name-new-media",
        ),
        pytest.param(
            video(*THREE),
            video(*THREE, seg(3000, name="p3.jpg"), seg(3000, name="p4.jpg")),
            ["Video 1: 2 clips added (now 5)", "Video 1 extended to 0-15s"],
            id="clips-added",
        ),
        pytest.param(
            video(*THREE),
            video(*THREE[:2]),
            ["Video 1: 1 clip removed (now 2)", "Video 1 trimmed to 0-6s"],
            id="clip-removed",
        ),
        pytest.param(
            video(seg(3000, name="a"), seg(3000, name="b")),
            video(seg(2000, name="a"), seg(4000, name="b")),
            ["Video 1: clips retimed"],
            id="clips-retimed-same-span",
        ),
        pytest.param(
            draft(BGM_35),
            draft(track(1, seg(10000, 0, name="Lo-fi", volume=0.5, role="bgm"))),
            ["BGM volume 35% -> 50%"],
            id="volume-changed",
        ),
        pytest.param(
            draft(track(1, seg(10000, 0, name="Lo-fi", role="bgm"))),
            draft(BGM_35),
            ["BGM volume set to 35%"],
            id="volume-set",
        ),
        pytest.param(
            draft(BGM_35),
            draft(track(1, seg(10000, 0, name="Lo-fi", role="bgm"))),
            ["BGM volume back to default (was 35%)"],
            id="volume-cleared",
        ),
        pytest.param(
            draft(VIDEO_10),
            draft(VIDEO_10, track(0, seg(5000, name="b.mp4"))),
            ["Video 2 added: 'b.mp4' (0-5s)"],
            id="second-video-numbered",
        ),
        pytest.param(
            draft(BGM_35),
            draft(BGM_35, track(1, seg(5000, name="rain.mp3", volume=0.2, role="bgm"))),
            ["BGM 2 added: 'rain.mp3' (0-5s, 20%)"],
            id="second-bgm-numbered",
        ),
        pytest.param(
            draft(track(1, seg(10000, name="x.mp3"))),
            draft(track(1, seg(10000, name="x.mp3", role="bgm"))),
            ["Audio removed", "BGM added: 'x.mp3' (0-10s)"],
            id="role-change-is-remove-and-add",
        ),
        pytest.param(
            {},
            CITY,
            [
                "Canvas changed to 1080x1920",
                "Video 1 added: 'city timelapse' (0-10s)",
                "BGM added: 'Lo-fi' (0-10s, 35%)",
                "Title added: 'Urban Dreams' (0-3s)",
            ],
            id="from-nothing",
        ),
        pytest.param(
            CITY,
            {"t": []},
            ["Video 1 removed", "BGM removed", "Title removed"],
            id="to-nothing-canvas-unknown-is-no-change",
        ),
        pytest.param(
            draft(TITLE_A, BGM_35),
            draft(
                track(1, seg(10000, 0, name="Lo-fi", volume=0.2, role="bgm")),
                track(7, seg(4000, 1000, text="B")),
            ),
            ["Title changed: 'A' -> 'B'", "Title extended to 1-5s", "BGM volume 35% -> 20%"],
            id="several-in-earlier-order",
        ),
        pytest.param(
            draft(track(0, *THREE)),
            draft(track(0, *THREE), track(0)),
            ["Video 2 added: untitled (empty)"],
            id="empty-track-added",
        ),
    ],
)
def test_diff(before: Json, after: Json, expected: list[str]) -> None:
    assert diff(parse_draft(before), parse_draft(after)) == expected


def test_diff_ignores_invisible_convention_keys() -> None:
    moved = json.loads(json.dumps(CITY))
    moved["t"][0]["sg"][0]["m"]["motion"] = "zoom_in"
    assert diff(parse_draft(CITY), parse_draft(moved)) == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(CITY, CITY, "No visible change to the timeline.", id="nothing"),
        pytest.param(
            draft(VIDEO_10, BGM_35),
            video(seg(8000, 0, name="clip.mp4", media_id="m1")),
            "Video 1 trimmed to 0-8s; BGM removed",
            id="joined",
        ),
    ],
)
def test_describe_changes(before: Json, after: Json, expected: str) -> None:
    assert describe_changes(parse_draft(before), parse_draft(after)) == expected


def test_models_are_frozen() -> None:
    timeline = parse_draft(CITY)
    with pytest.raises(pydantic.ValidationError):
        timeline.tracks[0].segments[0].start_ms = 5
    with pytest.raises(pydantic.ValidationError):
        timeline.duration_ms = 1


def test_dump_carries_computed_fields() -> None:
    dumped: Mapping[str, Any] = parse_draft(CITY).model_dump(mode="json")
    first = dumped["tracks"][0]
    assert (first["name"], first["label"], first["start_ms"], first["end_ms"]) == (
        "Video",
        "city timelapse",
        0,
        10000,
    )
    assert first["segments"][0]["end_ms"] == 10000
    assert dumped["canvas"] == [1080, 1920]
