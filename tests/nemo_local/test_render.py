"""The renderer: first the pure plan and command (no FFmpeg run), then real renders read back
with PyAV and checked by their pixels and samples. Media are made once per module: photos with
Pillow, sounds and clips with the bundled FFmpeg's ``lavfi`` sources, all small."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import threading
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from nemo_local import filtergraph, motion, picture
from nemo_local.encode import (
    RenderResult,
    draw_caption,
    parse_probe,
    probe,
    progress_fraction,
    render_draft,
    wrap_text,
)
from nemo_local.filtergraph import build_command
from nemo_local.motion import last_use, spans, window
from nemo_local.photos import prepare_photo
from nemo_local.picture import Pictures
from nemo_local.render_plan import (
    Caption,
    MediaInfo,
    RenderError,
    RenderPlan,
    Role,
    canvas_size,
    needed_media,
    plan_render,
)

pytestmark = pytest.mark.real  # FFmpeg renders real frames, in subprocesses

av = pytest.importorskip("av")
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

W, H = 180, 320
PHOTO = MediaInfo("image")
CLIP = MediaInfo("video", has_audio=True)
SILENT_CLIP = MediaInfo("video")
SOUND = MediaInfo("audio", has_audio=True)
SINE_RMS = 0.125 / math.sqrt(2)  # lavfi's sine has an amplitude of 1/8

Render = Callable[..., RenderResult]
Box = tuple[int, int, int, int]


def seg(st: int | None, d: int, **m: Any) -> dict[str, Any]:
    segment: dict[str, Any] = {"d": d, "m": m}
    if st is not None:
        segment["st"] = st
    return segment


def track(tt: int, *segments: dict[str, Any]) -> dict[str, Any]:
    return {"tt": tt, "sg": list(segments)}


def draft(*tracks: dict[str, Any]) -> dict[str, Any]:
    return {"canvas": {"width": W, "height": H}, "t": list(tracks)}


def photos(*ids: str, ms: int = 1000, **m: Any) -> dict[str, Any]:
    return track(0, *(seg(i * ms, ms, media_id=media_id, **m) for i, media_id in enumerate(ids)))


# Media


@pytest.fixture(scope="module")
def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture(scope="module")
def media_files(tmp_path_factory: pytest.TempPathFactory, ffmpeg_exe: str) -> dict[str, Path]:
    """media id -> file: photos in several sizes and shapes, flat colours for exact pixel checks,
    sounds (4 s 440 Hz WAV, 6 s 330 Hz MP3), 2 s clips with and without sound, and fakes."""
    d = tmp_path_factory.mktemp("media")
    files: dict[str, Path] = {}
    images = {
        "landscape.jpg": _busy((800, 600), 1),
        "portrait.png": _busy((300, 500), 2),
        "square.jpg": _busy((400, 400), 3),
        "red.png": Image.new("RGB", (64, 64), (220, 20, 20)),
        "blue.png": Image.new("RGB", (64, 64), (20, 20, 220)),
        "gray.png": Image.new("RGB", (90, 160), (128, 128, 128)),
        "gradient.png": _gradient((240, 320)),
        "disc.png": _disc((360, 640)),
    }
    for name, image in images.items():
        files[name.split(".")[0]] = d / name
        image.save(d / name)
    files["rotated"] = _rotated_exif(d / "rotated.jpg")
    files["voice"] = _lavfi(ffmpeg_exe, d / "voice.wav", "-f", "lavfi", "-i", "sine=440:d=4")
    files["music"] = _lavfi(ffmpeg_exe, d / "music.mp3", "-f", "lavfi", "-i", "sine=330:d=6")
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    picture = ("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2")
    files["clip"] = _lavfi(
        ffmpeg_exe, d / "clip.mp4", *picture, "-f", "lavfi", "-i", "sine=660:d=2", *x264
    )
    files["silent_clip"] = _lavfi(ffmpeg_exe, d / "silent_clip.mp4", *picture, *x264)
    for name in ("corrupt_photo.jpg", "corrupt_clip.mp4"):
        files[name.split(".")[0]] = d / name
        (d / name).write_text("this is not media, just text\n" * 20)
    return files


def _lavfi(ffmpeg: str, out: Path, *args: str) -> Path:
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(out)]
    subprocess.run(command, check=True)
    return out


def _busy(size: tuple[int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (40, 40, 40))
    draw = ImageDraw.Draw(image)
    for _ in range(120):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(8, size[0] // 3), rng.randrange(8, size[1] // 3)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + w, y + h), fill=fill)
    return image


def _gradient(size: tuple[int, int]) -> Image.Image:
    """Dark on the left, bright on the right: a pan shows as a change of mean brightness."""
    width = size[0]
    row = Image.frombytes("L", (width, 1), bytes(255 * x // (width - 1) for x in range(width)))
    return row.resize(size).convert("RGB")


def _disc(size: tuple[int, int]) -> Image.Image:
    """A white disc on black: zooming in shows more white, zooming out less."""
    image = Image.new("RGB", size)
    r, cx, cy = min(size) // 3, size[0] // 2, size[1] // 2
    ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255))
    return image


def _rotated_exif(path: Path) -> Path:
    """Stored landscape (red left, blue right) with EXIF orientation 6 (turn 90 degrees
    clockwise to show): upright it is portrait, red on top."""
    image = Image.new("RGB", (200, 100), (220, 20, 20))
    image.paste((20, 20, 220), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif, quality=95)
    return path


# Plan: canvas, timing, sound, text


@pytest.mark.parametrize(
    ("canvas", "expected"),
    [
        pytest.param({"width": 720, "height": 1280}, (720, 1280), id="width-height"),
        pytest.param({"w": 541, "h": "961"}, (540, 960), id="w-h-odd-string"),
        pytest.param(None, (1080, 1920), id="missing"),
        pytest.param({"width": 0, "height": 100}, (1080, 1920), id="zero"),
        pytest.param({"width": 3840, "height": 2160}, (1920, 1080), id="4k-landscape"),
        pytest.param({"width": 2160, "height": 3840}, (1080, 1920), id="4k-portrait"),
        pytest.param({"width": 10, "height": 20}, (32, 32), id="tiny"),
    ],
)
def test_canvas_is_even_and_at_most_1080x1920_in_area(
    canvas: dict[str, Any] | None, expected: tuple[int, int]
) -> None:
    d: dict[str, Any] = {"t": []} if canvas is None else {"canvas": canvas, "t": []}
    assert canvas_size(d, (1080, 1920)) == expected


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        pytest.param(0.3, 0.3, id="fraction"),
        pytest.param(30, 0.3, id="percent"),
        pytest.param("35%", 0.35, id="percent-string"),
        pytest.param(1, 1.0, id="one-is-full"),
        pytest.param(250, 1.0, id="clamped"),
        pytest.param(None, 1.0, id="missing-is-full"),
    ],
)
def test_volume_is_normalised(volume: object, expected: float) -> None:
    meta = {"media_id": "music"} | ({} if volume is None else {"volume": volume})
    plan = plan_render(draft(track(1, seg(0, 1000, **meta))), {"music": SOUND})
    assert plan.sounds[0].volume == pytest.approx(expected)


def test_transitions_lengthen_the_outgoing_clip_and_keep_every_cut() -> None:
    plan = plan_render(
        draft(
            track(
                0,
                seg(0, 3000, media_id="a", transition="fade"),  # default 500 ms
                seg(None, 3000, media_id="b", transition="slide", transition_ms=2000),
                seg(None, 1000, media_id="c", transition="fade"),  # nothing follows
            )
        ),
        dict.fromkeys("abc", PHOTO),
    )
    assert [(v.media_id, v.start, v.frames, v.tail, v.transition) for v in plan.base] == [
        ("a", 0, 90, 15, "fade"),
        ("b", 90, 90, 30, "slideleft"),  # 2 s asked, clamped to the 1 s piece it blends into
        ("c", 180, 30, 0, None),
    ]
    assert (plan.frames, plan.duration_ms) == (210, 7000)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param(
            [seg(0, 1000, media_id="a"), seg(None, 500, media_id="b")],
            [("a", 0, 30), ("b", 30, 15)],
            id="missing-start-follows",
        ),
        pytest.param(
            [
                {"s": 0, "d": 500, "m": {"media_id": "a"}},
                {"start": 500, "d": 500, "m": {"media_id": "b"}},
            ],
            [("a", 0, 15), ("b", 15, 15)],
            id="s-and-start-keys",
        ),
        pytest.param(
            [seg(500, 500, media_id="a")], [(None, 0, 15), ("a", 15, 15)], id="lead-black"
        ),
        pytest.param(
            [seg(0, 500, media_id="a"), seg(1000, 500, media_id="b")],
            [("a", 0, 15), (None, 15, 15), ("b", 30, 15)],
            id="gap-black",
        ),
        pytest.param(
            [seg(0, 1000, media_id="a"), seg(500, 500, media_id="b")],
            [("a", 0, 15), ("b", 15, 15)],
            id="overlap-cut",
        ),
        pytest.param(
            [seg(0, 500, media_id="a"), seg(0, 500, media_id="b")], [("b", 0, 15)], id="same-start"
        ),
        pytest.param(
            [seg(500, 500, media_id="b"), seg(0, 500, media_id="a")],
            [("a", 0, 15), ("b", 15, 15)],
            id="out-of-order",
        ),
    ],
)
def test_base_track_tiles_the_whole_timeline(
    segments: list[dict[str, Any]], expected: list[tuple[str | None, int, int]]
) -> None:
    plan = plan_render(draft(track(0, *segments)), {"a": PHOTO, "b": PHOTO})
    assert [(v.media_id, v.start, v.frames) for v in plan.base] == expected


def test_the_end_is_the_latest_end_over_all_tracks() -> None:
    plan = plan_render(
        draft(photos("a"), track(1, seg(0, 2500, media_id="m")), track(7, seg(0, 3000, text="x"))),
        {"a": PHOTO, "m": SOUND},
    )
    assert [(v.kind, v.start, v.frames) for v in plan.base] == [("image", 0, 30), ("black", 30, 60)]
    assert plan.duration_ms == 3000


def test_upper_video_tracks_are_drawn_over_without_transitions() -> None:
    plan = plan_render(
        draft(photos("a", ms=2000), track(0, seg(500, 500, media_id="b", transition="fade"))),
        {"a": PHOTO, "b": PHOTO},
    )
    assert [v.media_id for v in plan.base] == ["a"]
    assert [(v.media_id, v.start, v.frames, v.transition) for v in plan.overlays] == [
        ("b", 15, 15, None)
    ]


@pytest.mark.parametrize(
    ("motion", "expected"),
    [
        pytest.param(None, "zoom_in", id="default"),
        pytest.param("Zoom-Out", "zoom_out", id="spelling"),
        pytest.param("pan right", "pan_right", id="spaces"),
        pytest.param("none", "none", id="none"),
        pytest.param("static", "none", id="static"),
        pytest.param("wobble", "zoom_in", id="unknown"),
    ],
)
def test_photo_motion_is_read_leniently(motion: str | None, expected: str) -> None:
    meta = {"media_id": "a"} | ({} if motion is None else {"motion": motion})
    plan = plan_render(draft(track(0, seg(0, 1000, **meta))), {"a": PHOTO})
    assert plan.base[0].motion == expected


def test_videos_do_not_get_photo_motion() -> None:
    plan = plan_render(draft(photos("a", motion="zoom_in")), {"a": CLIP})
    assert (plan.base[0].kind, plan.base[0].motion) == ("video", "none")


@pytest.mark.parametrize(
    ("video", "info", "audio", "expected"),
    [
        pytest.param({}, CLIP, [], [("clip", 1.0)], id="video-keeps-its-sound"),
        pytest.param({"volume": 0.5}, CLIP, [], [("clip", 0.5)], id="video-volume"),
        pytest.param({"mute": True}, CLIP, [], [], id="muted-is-silent"),
        pytest.param(
            {"mute": "true"},
            CLIP,
            [seg(0, 1000, media_id="voice", volume=0.8)],
            [("voice", 0.8)],
            id="dub-replaces",
        ),
        pytest.param({}, SILENT_CLIP, [], [], id="video-without-sound"),
        pytest.param(
            {}, CLIP, [seg(0, 1000, media_id="voice", volume=0)], [("clip", 1.0)], id="volume-0"
        ),
        pytest.param(
            {}, SILENT_CLIP, [seg(0, 1000, media_id="photo")], [], id="audio-track-on-a-photo"
        ),
    ],
)
def test_which_sounds_are_mixed(
    video: dict[str, Any], info: MediaInfo, audio: list[dict[str, Any]], expected: list[Any]
) -> None:
    tracks = [track(0, seg(0, 1000, media_id="clip", **video)), track(1, *audio)]
    plan = plan_render(draft(*tracks), {"clip": info, "voice": SOUND, "photo": PHOTO})
    assert [(s.media_id, s.volume) for s in plan.sounds] == expected
    assert plan.has_audio is bool(expected)


@pytest.mark.parametrize(
    ("track_meta", "seg_meta", "expected"),
    [
        pytest.param({}, {"role": "title"}, "title", id="title"),
        pytest.param({}, {"role": "caption"}, "caption", id="caption"),
        pytest.param({}, {"role": "Subtitles"}, "caption", id="synonym"),
        pytest.param({"role": "caption"}, {}, "caption", id="track-role"),
        pytest.param({}, {}, "title", id="none-is-title-as-in-the-summary"),
    ],
)
def test_text_roles(track_meta: dict[str, Any], seg_meta: dict[str, Any], expected: Role) -> None:
    text = {"tt": 7, "m": track_meta, "sg": [seg(0, 1000, text=" Two\n  lines ", **seg_meta)]}
    plan = plan_render(draft(photos("a", ms=2000), text), {"a": PHOTO})
    assert plan.captions == (Caption("Two\nlines", expected, 0, 30),)


@pytest.mark.parametrize(
    ("media", "message"),
    [
        pytest.param({}, "media med_gone is missing", id="plan"),
        pytest.param({"other": PHOTO}, "media med_gone is missing", id="plan-other-ids"),
    ],
)
def test_missing_media_is_named(media: dict[str, MediaInfo], message: str) -> None:
    with pytest.raises(RenderError, match=f"^{message}$"):
        plan_render(draft(photos("med_gone")), media)


@pytest.mark.parametrize(
    "tracks",
    [
        pytest.param([], id="empty"),
        pytest.param([track(7, seg(0, 1000, text="Hello"))], id="text-only"),
        pytest.param([track(1, seg(0, 1000, media_id="m", volume=0))], id="silent-sound-only"),
        pytest.param([photos("m", ms=0)], id="zero-length"),
    ],
)
def test_nothing_to_render(tracks: list[dict[str, Any]]) -> None:
    with pytest.raises(RenderError, match="^nothing to render"):
        plan_render(draft(*tracks), {"m": SOUND})


def test_needed_media_in_draft_order_once() -> None:
    d = draft(photos("b", "a", "b"), track(1, seg(0, 500, media_id="m"), seg(0, 0, media_id="z")))
    assert needed_media(d) == ["b", "a", "m"]


def test_spans_blend_at_the_seams_and_upper_tracks_cover_the_base() -> None:
    plan = plan_render(
        draft(
            track(
                0,
                seg(0, 1000, media_id="a", transition="fade"),  # 15 frames under b
                seg(None, 1000, media_id="b"),
            ),
            track(0, seg(1500, 200, media_id="c")),  # drawn over b from frame 45 to 51
        ),
        dict.fromkeys("abc", PHOTO),
    )
    shown = [
        (s.start, s.frames, s.shot.piece.media_id, s.shot.first, s.outgoing and s.outgoing.first)
        for s in spans(plan)
    ]
    assert shown == [
        (0, 30, "a", 0, None),
        (30, 15, "b", 0, 30),  # b's head over a's tail
        (45, 6, "c", 0, None),
        (51, 9, "b", 21, None),
    ]
    seam = spans(plan)[1]
    assert (seam.transition, seam.progress(30), seam.progress(44)) == ("fade", 1.0, 1 - 14 / 15)
    assert last_use(spans(plan)) == {0: 1, 1: 3, 2: 2}


@pytest.mark.parametrize(
    ("motion", "frame", "expected"),
    [
        pytest.param("none", 5, (0, 0, 180, 320), id="none-is-the-whole-photo"),
        pytest.param("zoom_in", 0, (0, 0, 180, 320), id="zoom-in-starts-whole"),
        pytest.param("zoom_out", 30, (0, 0, 180, 320), id="zoom-out-ends-whole"),
        pytest.param("pan_right", 0, (0.05, 17.2, 160.8, 302.9), id="pan-right-starts-left"),
        pytest.param("pan_left", 0, (19.3, 17.2, 180, 302.9), id="pan-left-starts-right"),
    ],
)
def test_motion_windows(motion: str, frame: int, expected: tuple[float, ...]) -> None:
    assert window(motion, frame, 31, W, H) == pytest.approx(expected, abs=0.06)


def test_command_reads_raw_frames_and_maps_audio_only_when_there_is_sound(tmp_path: Path) -> None:
    d = draft(photos("a", ms=2000), track(7, seg(0, 1000, text="Hi")))
    for sound, expected_maps in ((False, ["[vout]"]), (True, ["[vout]", "[aout]"])):
        tracks = [*d["t"], track(1, seg(0, 2000, media_id="m"))] if sound else d["t"]
        plan = plan_render({**d, "t": tracks}, {"a": PHOTO, "m": SOUND})
        sources = {m: tmp_path / m for m in ("a", "m")}
        caption = tmp_path / "t.png"
        args = build_command(
            plan, ffmpeg="ffmpeg", sources=sources, captions=[caption], output=tmp_path / "o.mp4"
        )
        graph = args[args.index("-filter_complex") + 1]
        raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "180x320", "-framerate", "30"]
        assert args[args.index("rawvideo") - 1 :][: len(raw) + 2] == [*raw, "-i", "pipe:0"]
        assert f"file:{caption}" in args and "[0:v][1:v]overlay" in graph
        assert [args[i + 1] for i, a in enumerate(args) if a == "-map"] == expected_maps
        assert ("-c:a" in args) is sound
        assert ("amix" in graph) is False  # one sound: nothing to mix
        assert args[-1] == f"file:{tmp_path / 'o.mp4'}"
        assert args[args.index("-c:v") + 1] == "libx264"
        assert args[args.index("-movflags") + 1] == "+faststart"


def test_command_mixes_sounds_without_normalising(tmp_path: Path) -> None:
    d = draft(
        track(1, seg(0, 1000, media_id="m", volume=0.3)), track(1, seg(500, 500, media_id="v"))
    )
    plan = plan_render(d, {"m": SOUND, "v": SOUND})
    args = build_command(
        plan, ffmpeg="ffmpeg", sources={"m": tmp_path, "v": tmp_path}, captions=[], output=tmp_path
    )
    graph = args[args.index("-filter_complex") + 1]
    assert "amix=inputs=2:duration=longest:normalize=0" in graph
    assert "volume=0.3000,adelay=delays=0:all=1" in graph
    assert "adelay=delays=500:all=1" in graph
    assert [v.kind for v in plan.base] == ["black"]  # no pictures: black frames


# Pure helpers of the I/O half


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("out_time_us=1500000\n", 0.5, id="us"),
        pytest.param("out_time_ms=1500000", 0.5, id="ms-is-us-too"),
        pytest.param("out_time_us=N/A", None, id="not-yet"),
        pytest.param("progress=continue", None, id="other-key"),
        pytest.param("out_time_us=9000000", 0.99, id="never-1-before-the-end"),
        pytest.param("out_time_us=-40000", 0.0, id="negative"),
    ],
)
def test_progress_fraction(line: str, expected: float | None) -> None:
    assert progress_fraction(line, 3000) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        pytest.param("one two three four", 9, ["one two", "three", "four"], id="words"),
        pytest.param("abcdefghijkl", 5, ["abcde", "fghij", "kl"], id="long-word"),
        pytest.param(
            "你好世界你好世界你好世界", 5, ["你好世界你", "好世界你好", "世界"], id="no-spaces"
        ),
        pytest.param("top\nbottom", 20, ["top", "bottom"], id="line-breaks"),
    ],
)
def test_wrap_text(text: str, width: int, expected: list[str]) -> None:
    assert wrap_text(text, lambda line: len(line) <= width) == expected


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        pytest.param(
            "Input #0, mp3, from 'file:/a.mp3':\n"
            "  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s\n"
            "  Stream #0:1: Video: mjpeg (Baseline), yuvj420p, 500x500, 90k tbn (attached pic)\n",
            MediaInfo("audio", True),
            id="cover-art-is-not-video",
        ),
        pytest.param(
            "Input #0, png_pipe, from 'file:/a.bin':\n  Stream #0:0: Video: png, rgb24, 64x64\n",
            MediaInfo("image"),
            id="image-without-extension",
        ),
        pytest.param("file:/a.mp4: Invalid data found when processing input\n", None, id="junk"),
    ],
)
def test_parse_probe(stderr: str, expected: MediaInfo | None) -> None:
    assert parse_probe(stderr) == expected


@pytest.mark.parametrize(
    ("media_id", "expected"),
    [
        pytest.param("clip", MediaInfo("video", True, mono=True), id="clip"),
        pytest.param("silent_clip", MediaInfo("video", False), id="silent-clip"),
        pytest.param("voice", MediaInfo("audio", True, mono=True), id="wav"),
        pytest.param("music", MediaInfo("audio", True, mono=True), id="mp3"),
        pytest.param("landscape", MediaInfo("image"), id="photo"),
    ],
)
def test_probe_real_files(
    media_files: dict[str, Path], ffmpeg_exe: str, media_id: str, expected: MediaInfo
) -> None:
    assert probe(ffmpeg_exe, media_id, media_files[media_id]) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Summer", id="word"),
        pytest.param("你好，世界 🎬🌊 ok", id="cjk-emoji"),
        pytest.param("A long caption that has to wrap onto several lines to fit", id="long"),
    ],
)
def test_text_images_fit_the_canvas_and_never_crash(tmp_path: Path, text: str) -> None:
    plan = RenderPlan(width=W, height=H, fps=30, frames=30, base=())
    sizes = {}
    for role in ("title", "caption"):
        png = draw_caption(Caption(text, role, 0, 30), plan, tmp_path / f"{role}.png")
        with Image.open(png) as image:
            assert image.mode == "RGBA"
            assert image.width <= W
            assert image.getchannel("A").getextrema() == (0, 255)  # transparent and drawn
            sizes[role] = image.size
    assert sizes["title"][1] > sizes["caption"][1]


# Real renders


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def render(media_files: dict[str, Path], ffmpeg_exe: str, out_dir: Path) -> Render:
    def go(d: dict[str, Any], **kwargs: Any) -> RenderResult:
        kwargs.setdefault("ffmpeg", ffmpeg_exe)
        return render_draft(d, media_files, out_dir / "video.mp4", **kwargs)

    return go


def leftovers(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []


def read_video(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.width, video.height),
            "frames": sum(1 for _ in container.decode(video=0)),
            "audio": [s.codec_context.name for s in container.streams.audio],
            "duration": container.duration / 1_000_000,
        }


def frames_at(path: Path, *times: float) -> list[Image.Image]:
    with av.open(str(path)) as container:
        frames = [(frame.time, frame.to_image()) for frame in container.decode(video=0)]
    return [min(frames, key=lambda f: abs(f[0] - t))[1] for t in times]


def samples(path: Path, start: float, end: float) -> list[float]:
    """The first channel's samples between two times (AAC decodes to planar float)."""
    out: list[float] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "fltp"
            data = array("f", bytes(frame.planes[0]))[: frame.samples]
            t0, rate = frame.time, frame.sample_rate
            out += [x for i, x in enumerate(data) if start <= t0 + i / rate < end]
    return out


def rms(path: Path, start: float, end: float) -> float:
    values = samples(path, start, end)
    return math.sqrt(sum(x * x for x in values) / len(values))


def pitch(path: Path, start: float, end: float) -> float:
    """Hz from zero crossings: enough to tell a 440 Hz voice from a 660 Hz clip."""
    values = samples(path, start, end)
    crossings = sum(1 for a, b in zip(values, values[1:], strict=False) if (a < 0) != (b < 0))
    return crossings / 2 / (end - start)


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def changed(a: Image.Image, b: Image.Image) -> float:
    """The share of pixels that differ clearly (more than 40 levels of grey)."""
    mask = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 40 else 0)
    return mask.histogram()[255] / (mask.width * mask.height)


def color(image: Image.Image, box: Box | None = None) -> tuple[int, ...]:
    return tuple(round(c) for c in ImageStat.Stat(image.crop(box) if box else image).mean)


def test_a_full_draft_renders_to_h264_and_aac_at_the_canvas(render: Render, out_dir: Path) -> None:
    result = render(
        draft(
            track(
                0,
                seg(0, 1000, media_id="landscape", transition="fade", transition_ms=300),
                seg(None, 1000, media_id="portrait", motion="pan_left", transition="slide"),
                seg(None, 1000, media_id="square", motion="zoom_out"),
            ),
            track(1, seg(0, 3000, media_id="music", volume=0.3, role="bgm")),
            track(7, seg(200, 1500, text="Summer", role="title")),
        )
    )
    assert read_video(result.path) == {
        "codec": "h264",
        "pix_fmt": "yuv420p",
        "size": (W, H),
        "frames": 90,
        "audio": ["aac"],
        "duration": pytest.approx(3.0, abs=0.05),
    }
    assert result == RenderResult(
        out_dir / "video.mp4", 3000, W, H, True, result.path.stat().st_size
    )
    assert leftovers(out_dir) == ["video.mp4"]


@pytest.mark.parametrize(
    ("role", "band", "elsewhere"),
    [
        pytest.param("title", (0, 0, W, H * 2 // 5), (0, H // 2, W, H), id="title-upper"),
        pytest.param("caption", (0, H * 3 // 5, W, H), (0, 0, W, H // 2), id="caption-lower"),
    ],
)
def test_text_shows_only_in_its_window_and_its_band(
    render: Render, role: str, band: Box, elsewhere: Box
) -> None:
    result = render(
        draft(
            photos("gray", ms=3000, motion="none"),
            track(7, seg(1000, 1000, text="HELLO", role=role)),
        )
    )
    before, during, after = frames_at(result.path, 0.5, 1.5, 2.5)
    assert changed(before.crop(band), during.crop(band)) > 0.005
    assert changed(before.crop(band), after.crop(band)) == 0
    assert changed(before.crop(elsewhere), during.crop(elsewhere)) == 0


def test_photos_move_as_asked(render: Render) -> None:
    looks = [
        ("gradient", "pan_right"),  # the view travels right, onto the brighter side
        ("gradient", "pan_left"),
        ("disc", "zoom_in"),  # the white disc grows
        ("disc", "zoom_out"),
        ("disc", "none"),
    ]
    segments = [seg(i * 1000, 1000, media_id=m, motion=mo) for i, (m, mo) in enumerate(looks)]
    path = render(draft(track(0, *segments))).path
    first = frames_at(path, *(i + 0.0 for i in range(len(looks))))
    last = frames_at(path, *(i + 29 / 30 for i in range(len(looks))))
    change = {
        motion: ImageStat.Stat(b.convert("L")).mean[0] - ImageStat.Stat(a.convert("L")).mean[0]
        for (_, motion), a, b in zip(looks, first, last, strict=True)
    }
    assert change["pan_right"] > 5
    assert change["pan_left"] < -5
    assert change["zoom_in"] > 3
    assert change["zoom_out"] < -3
    assert abs(change["none"]) < 0.5


def test_photos_are_turned_upright_by_their_exif(render: Render) -> None:
    (frame,) = frames_at(render(draft(photos("rotated", motion="none"))).path, 0.5)
    top, bottom = color(frame, (0, 0, W, H // 4)), color(frame, (0, H * 3 // 4, W, H))
    assert top[0] > 150 > top[2]  # stored sideways with red on the left: upright, red is on top
    assert bottom[2] > 150 > bottom[0]


@pytest.mark.parametrize("transition", ["fade", "slide", "none"])
def test_transitions_blend_from_the_cut(render: Render, transition: str) -> None:
    result = render(
        draft(
            track(
                0,
                seg(
                    0, 1000, media_id="red", motion="none", transition=transition, transition_ms=400
                ),
                seg(None, 1000, media_id="blue", motion="none"),
            )
        )
    )
    assert read_video(result.path)["frames"] == 60
    before_cut, mid, after = frames_at(result.path, 29 / 30, 1.2, 1.8)  # the blend: 1.0-1.4 s
    red, blue = color(before_cut), color(after)
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]
    left, right = color(mid, (0, 0, W // 4, H)), color(mid, (W * 3 // 4, 0, W, H))
    if transition == "fade":  # both colours at once, everywhere
        assert 60 < left[0] < 160 and 60 < left[2] < 160
        assert difference(mid.crop((0, 0, W // 4, H)), mid.crop((W * 3 // 4, 0, W, H))) < 3
    elif transition == "slide":  # the new picture pushes in from the right
        assert left[0] > 150 > left[2] and right[2] > 150 > right[0]
    else:  # a cut at 1.0 s
        assert difference(mid, after) < 2


def test_cuts_transitions_clips_and_gaps_chain_in_draft_order(render: Render) -> None:
    still = {"motion": "none"}
    result = render(
        draft(
            track(
                0,
                seg(0, 500, media_id="red", **still),  # a cut, then a transition later
                seg(500, 1000, media_id="clip", transition="fade", transition_ms=300),
                seg(1500, 500, media_id="blue", transition="slide", **still),  # into the gap
                seg(2500, 500, media_id="red", **still),
            )
        )
    )
    assert read_video(result.path)["frames"] == 90
    red, clip, blue, gap, red_again = (
        color(f) for f in frames_at(result.path, 0.25, 1.0, 1.9, 2.45, 2.75)
    )
    assert red[0] > 150 > red[2] and red_again[0] > 150 > red_again[2]
    assert blue[2] > 150 > blue[0] and max(gap) < 20
    assert clip != red and clip != blue and max(clip) > 60


def test_one_frame_pieces_keep_the_frame_count(render: Render) -> None:
    still = {"motion": "none"}
    result = render(
        draft(
            track(
                0,
                seg(0, 33, media_id="blue", **still),  # a single frame, then a cut
                seg(33, 100, media_id="red", transition="fade", transition_ms=33, **still),
                seg(133, 400, media_id="blue", **still),
            )
        )
    )
    assert read_video(result.path)["frames"] == 16 and result.duration_ms == 533
    assert color(frames_at(result.path, 0.1)[0])[0] > 150  # red from frame 1 on


def test_an_upper_video_track_covers_the_base_in_its_window(render: Render) -> None:
    result = render(
        draft(photos("red", ms=1500, motion="none"), track(0, seg(500, 500, media_id="blue")))
    )
    before, during, after = (color(f) for f in frames_at(result.path, 0.25, 0.75, 1.25))
    assert before[0] > 150 and after[0] > 150
    assert during[2] > 150 > during[0]


@pytest.mark.parametrize(
    ("video", "voice", "hz"),
    [
        pytest.param({"media_id": "clip"}, False, 660, id="clip-keeps-its-sound"),
        pytest.param({"media_id": "clip", "mute": True}, True, 440, id="dub-replaces-it"),
        pytest.param({"media_id": "clip", "mute": True}, False, None, id="muted-no-audio"),
        pytest.param({"media_id": "silent_clip"}, False, None, id="soundless-clip"),
    ],
)
def test_video_sound_is_kept_replaced_or_absent(
    render: Render, video: dict[str, Any], voice: bool, hz: int | None
) -> None:
    tracks = [track(0, seg(0, 1500, **video))]
    if voice:
        tracks.append(track(1, seg(0, 1500, media_id="voice", role="voice")))
    result = render(draft(*tracks))
    assert read_video(result.path)["audio"] == (["aac"] if hz else [])
    assert result.has_audio is bool(hz)
    if hz:
        assert rms(result.path, 0.2, 1.3) == pytest.approx(SINE_RMS, rel=0.2)
        assert pitch(result.path, 0.2, 1.3) == pytest.approx(hz, rel=0.05)


def test_mixed_volumes_are_honest(render: Render) -> None:
    result = render(
        draft(
            photos("gray", ms=2000, motion="none"),
            track(1, seg(0, 1000, media_id="voice", volume=0.5)),
            track(1, seg(1000, 1000, media_id="music", volume=100)),
        )
    )
    assert rms(result.path, 0.2, 0.8) == pytest.approx(SINE_RMS * 0.5, rel=0.15)
    assert rms(result.path, 1.2, 1.8) == pytest.approx(SINE_RMS, rel=0.15)


def test_sound_without_pictures_is_black_video(render: Render) -> None:
    result = render(draft(track(1, seg(0, 1500, media_id="voice"))))
    info = read_video(result.path)
    assert (info["size"], info["frames"], info["audio"]) == ((W, H), 45, ["aac"])
    assert max(color(frames_at(result.path, 0.7)[0])) < 20


def test_gaps_are_black_and_the_length_is_the_latest_end(render: Render) -> None:
    result = render(
        draft(
            photos("red", motion="none", ms=500) | {"sg": [seg(500, 500, media_id="red")]},
            track(7, seg(0, 1500, text="hi", role="caption")),
        )
    )
    info = read_video(result.path)
    assert (info["frames"], info["audio"], result.duration_ms) == (45, [], 1500)
    corner = (0, 0, 40, 40)  # away from the caption
    lead, shown, trail = (color(f, corner) for f in frames_at(result.path, 0.2, 0.7, 1.3))
    assert max(lead) < 20 and shown[0] > 150 and max(trail) < 20


def test_a_clip_shorter_than_its_segment_holds_its_last_frame(render: Render) -> None:
    result = render(draft(track(0, seg(0, 3000, media_id="clip"))))  # the clip lasts 2 s
    info = read_video(result.path)
    assert (info["frames"], info["audio"]) == (90, ["aac"])
    held, end = frames_at(result.path, 2.3, 2.9)
    assert difference(held, end) < 1  # a still frame, not black
    assert max(color(held)) > 60
    assert rms(result.path, 0.2, 1.8) > 0.05 and rms(result.path, 2.2, 2.9) < 0.001


def test_fps_and_default_canvas_are_honoured(
    media_files: dict[str, Path], ffmpeg_exe: str, out_dir: Path
) -> None:
    d = {"t": [photos("square")]}  # no canvas in the draft
    result = render_draft(
        d, media_files, out_dir / "v.mp4", default_canvas=(121, 200), fps=24, ffmpeg=ffmpeg_exe
    )
    info = read_video(result.path)
    assert (info["size"], info["frames"], result.duration_ms) == ((120, 200), 24, 1000)


def test_progress_rises_to_one(render: Render) -> None:
    values: list[float] = []
    render(draft(photos("landscape", ms=2000)), progress=values.append)
    assert values[0] == 0.0 and values[-1] == 1.0 and len(values) >= 3
    assert all(a < b for a, b in zip(values, values[1:], strict=False))


def test_cancel_before_start_runs_nothing(render: Render, out_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderError, match="^cancelled$"):
        render(draft(photos("landscape")), cancel=cancel)
    assert leftovers(out_dir) == []


def test_cancel_during_the_render_stops_ffmpeg_and_leaves_nothing(
    render: Render, out_dir: Path
) -> None:
    cancel = threading.Event()
    values: list[float] = []

    def progress(value: float) -> None:
        values.append(value)
        cancel.set()  # at 0.0, as soon as FFmpeg has started

    with pytest.raises(RenderError, match="^cancelled$"):
        render(draft(photos("landscape", ms=60_000)), progress=progress, cancel=cancel)
    assert leftovers(out_dir) == []
    assert max(values) < 0.5  # killed: a minute of video is not half encoded by then


@pytest.mark.parametrize(
    ("media_id", "message"),
    [
        pytest.param("corrupt_photo", "media corrupt_photo is not a readable image", id="photo"),
        pytest.param("corrupt_clip", "media corrupt_clip could not be read", id="clip"),
    ],
)
def test_corrupt_media_fails_cleanly(
    render: Render, out_dir: Path, media_id: str, message: str
) -> None:
    with pytest.raises(RenderError, match=f"^{message}"):
        render(draft(photos(media_id)))
    assert leftovers(out_dir) == []


def test_missing_media_fails_before_ffmpeg_runs(tmp_path: Path, out_dir: Path) -> None:
    media = {"med_gone": tmp_path / "deleted.jpg"}
    with pytest.raises(RenderError, match="^media med_gone is missing$"):
        render_draft(draft(photos("med_gone")), media, out_dir / "v.mp4", ffmpeg="/no/ffmpeg")
    assert leftovers(out_dir) == []


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for FFmpeg")
def test_ffmpeg_failure_says_why_and_leaves_no_partial_file(
    tmp_path: Path, media_files: dict[str, Path], out_dir: Path
) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\n"
        'for last; do :; done\necho partial > "${last#file:}"\n'  # a half-written output
        "echo 'some warning' >&2\necho 'Conversion failed!' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    with pytest.raises(RenderError, match="^FFmpeg failed: Conversion failed!$"):
        render_draft(draft(photos("red")), media_files, out_dir / "v.mp4", ffmpeg=str(fake))
    assert leftovers(out_dir) == []


def test_ffmpeg_that_cannot_start_is_a_render_error(
    render: Render, tmp_path: Path, out_dir: Path
) -> None:
    with pytest.raises(RenderError, match="^FFmpeg could not run"):
        render(draft(photos("red")), ffmpeg=str(tmp_path / "no-ffmpeg"))
    assert leftovers(out_dir) == []


def test_without_imageio_ffmpeg_the_error_says_what_to_install(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    monkeypatch.setattr("shutil.which", lambda *_: None)  # and none on PATH either
    with pytest.raises(RenderError, match=r"pip install 'nemo-mcp\[local\]'"):
        render(draft(photos("red")), ffmpeg=None)


def test_without_pillow_the_error_says_what_to_install(
    render: Render, monkeypatch: pytest.MonkeyPatch, out_dir: Path
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import fails
    with pytest.raises(RenderError, match=r"^Pillow is needed .* pip install 'nemo-mcp\[local\]'"):
        render(draft(photos("red")))
    assert leftovers(out_dir) == []


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two frames in dB (identical frames: infinity)."""
    histogram = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).histogram()
    squares = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mse = squares / (a.width * a.height * 3)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def test_the_fast_encoder_keeps_the_look(
    render: Render, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The faster x264 preset against the one it replaced, frame by frame: moving photos, a
    transition and a title, compared while they move. Two lossy encodings of the same frames
    differ by their coding noise: above 35 dB that noise is not visible at playback."""
    d = draft(
        track(
            0,
            seg(0, 1000, media_id="landscape", motion="zoom_in", transition="fade"),
            seg(None, 1000, media_id="portrait", motion="pan_left", transition="slide"),
        ),
        track(7, seg(0, 2000, text="Summer", role="title")),
    )
    d["canvas"] = {"width": 360, "height": 640}
    render(d)
    fast = out_dir / "fast.mp4"
    (out_dir / "video.mp4").rename(fast)
    monkeypatch.setattr(filtergraph, "X264_PRESET", "veryfast")
    render(d)
    times = (0.2, 0.9, 1.1, 1.8)
    before = frames_at(out_dir / "video.mp4", *times)
    scores = [psnr(new, old) for new, old in zip(frames_at(fast, *times), before, strict=True)]
    assert min(scores) > 35, f"the encoder changed what the video looks like: {scores}"


LOOK = Path(__file__).with_name("data")
"""Frames of the look draft below from the one-graph renderer this one replaced (FFmpeg's
``perspective`` over the canvas, ``xfade`` at the cuts), decoded to PNG."""


def test_the_piece_by_piece_renderer_keeps_the_look(render: Render) -> None:
    """Against the renderer it replaced: a still photo under a title and a still photo alone
    match at PSNR > 35 dB (the coding noise of two encodings). Moving photos match one frame
    apart: the old motion ran a frame ahead (``perspective`` counts frames from 1), so it
    overshot its end by a frame; the new one runs exactly from 1.00 to 1.12."""
    d = draft(
        track(
            0,
            seg(0, 1000, media_id="square", motion="none", transition="fade", transition_ms=300),
            seg(None, 1000, media_id="landscape", motion="zoom_in", transition="slide"),
            seg(None, 1000, media_id="portrait", motion="pan_left"),
        ),
        track(7, seg(0, 800, text="Summer", role="title")),
    )
    with av.open(str(render(d).path)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    pairs = {"title over a still": (10, 10), "still": (27, 27), "zoom": (45, 46), "pan": (80, 81)}
    scores = {}
    for name, (old, new) in pairs.items():
        with Image.open(LOOK / f"look-{old}.png") as reference:
            scores[name] = psnr(frames[new], reference)
    assert min(scores.values()) > 35, f"the look changed: {scores}"


def pan_brightness(media_files: dict[str, Path], ffmpeg: str, tmp: Path) -> list[float]:
    """The mean brightness of each frame the renderer makes (before encoding) of a pan across
    a left-to-right gradient: it grows with the window's position."""
    plan = plan_render(draft(photos("gradient", motion="pan_right")), {"gradient": PHOTO})
    pictures = Pictures(
        plan,
        ffmpeg=ffmpeg,
        sources=media_files,
        prepare=lambda m: prepare_photo(m, media_files[m], plan),
        work=tmp,
    )
    return [ImageStat.Stat(Image.frombytes("L", (W, H), f[0])).mean[0] for f in pictures.frames()]


def test_moving_photos_move_smoothly_not_in_whole_pixel_steps(
    media_files: dict[str, Path], ffmpeg_exe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pan of 0.66 pixels a frame: at whole-pixel positions a third of the frames would not
    move and the others jump a pixel (the check is shown to catch that); at sub-pixel positions
    every frame moves about the same."""

    def steady(means: list[float]) -> bool:
        steps = [b - a for a, b in zip(means, means[1:], strict=False)]
        middle = sorted(steps)[len(steps) // 2]
        return middle > 0 and all(0.7 * middle < step < 1.3 * middle for step in steps)

    assert steady(pan_brightness(media_files, ffmpeg_exe, tmp_path))
    exact = motion.window

    def whole_pixels(*args: Any) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = exact(*args)
        scale = args[3] / W  # source pixels per output pixel
        dx = math.floor(x0 / scale) * scale - x0
        return (x0 + dx, y0, x1 + dx, y1)

    monkeypatch.setattr(picture, "window", whole_pixels)
    assert not steady(pan_brightness(media_files, ffmpeg_exe, tmp_path))
