"""The draft's picture (``nemo_local.draft_picture``): frames from the middle of each segment with
their titles, from the render plan, in a small JPEG; real photos and a real clip, read back."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from nemo_local import draft_picture as picture_module
from nemo_local.draft_picture import MAX_BYTES, Pictures, draft_picture, moments, text_y
from nemo_local.render_plan import MediaInfo, plan_render
from nemo_mcp.samples import make_photo

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
PHOTO = MediaInfo("image")
W, H = 270, 480


def segments(*ids: str, ms: int = 2000, **m: Any) -> dict[str, Any]:
    return {
        "tt": 0,
        "sg": [{"st": i * ms, "d": ms, "m": {"media_id": x, **m}} for i, x in enumerate(ids)],
    }


def title(text: str, start: int = 0, ms: int = 2000) -> dict[str, Any]:
    return {"tt": 7, "sg": [{"st": start, "d": ms, "m": {"text": text, "role": "title"}}]}


def draft(*tracks: dict[str, Any]) -> dict[str, Any]:
    return {"canvas": {"width": W, "height": H}, "t": list(tracks)}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("picture-media")
    files = {f"p{i}": make_photo(d / f"p{i}.jpg", i, (1200, 1600)) for i in range(12)}
    clip = d / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "color=c=0x20c040:s=160x120:r=25:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         str(clip)],
        check=True,
    )  # fmt: skip
    files["clip"] = clip
    return files


def tiles(data: bytes, count: int) -> list[Image.Image]:
    """The sheet's tiles (5 a row, 4-pixel gaps, 135x240 for a 9:16 draft)."""
    sheet = Image.open(io.BytesIO(data))
    assert sheet.format == "JPEG"
    w, h = 135, 240
    return [
        sheet.crop((4 + (i % 5) * (w + 4), 4 + (i // 5) * (h + 4), 4 + (i % 5) * (w + 4) + w,
                    4 + (i // 5) * (h + 4) + h))
        for i in range(count)
    ]  # fmt: skip


def test_one_frame_from_the_middle_of_each_segment_gaps_left_out() -> None:
    gap = [
        {"st": 0, "d": 1000, "m": {"media_id": "a"}},
        {"st": 2000, "d": 1000, "m": {"media_id": "b"}},
    ]
    d = draft({"tt": 0, "sg": gap})
    plan = plan_render(d, {"a": PHOTO, "b": PHOTO})
    assert moments(plan) == [15, 75]
    many = plan_render(
        draft(segments(*"abcdefghijkl", ms=1000)), dict.fromkeys("abcdefghijkl", PHOTO)
    )
    assert len(moments(many)) == 10 and moments(many)[0] == 15


def test_titles_sit_where_the_encoder_puts_them() -> None:
    assert text_y("title", 480, 40) == round(480 * 0.22 - 20)
    assert text_y("title", 480, 200) == round(480 * 0.06)
    assert text_y("caption", 480, 40) == round(480 * 0.78 - 20)


def test_the_sheet_shows_each_segment_with_its_title_under_100_kb(media: dict[str, Path]) -> None:
    ids = [f"p{i}" for i in range(10)]
    with_title = draft_picture(draft(segments(*ids), title("HELLO WORLD")), media)
    without = draft_picture(draft(segments(*ids)), media)
    assert with_title is not None and without is not None
    assert len(with_title) < MAX_BYTES
    first, plain_first = tiles(with_title, 10)[0], tiles(without, 10)[0]
    band = (0, 0, 135, 100)  # the upper third, where a title goes
    moved = ImageChops.difference(first.crop(band), plain_first.crop(band))
    assert max(ImageStat.Stat(moved).extrema[0]) > 100, "the title is drawn on the first frame"
    second, plain_second = tiles(with_title, 10)[1], tiles(without, 10)[1]
    assert sum(ImageStat.Stat(ImageChops.difference(second, plain_second)).mean) < 3  # no title
    colours = {tuple(round(c) for c in ImageStat.Stat(t).mean) for t in tiles(with_title, 10)}
    assert len(colours) >= 5, "each segment shows its own photo"


def test_a_clip_shows_its_own_frame_and_an_empty_draft_has_no_picture(
    media: dict[str, Path],
) -> None:
    data = draft_picture(draft(segments("clip", ms=1000)), media)
    assert data is not None
    (tile,) = tiles(data, 1)
    r, g, b = ImageStat.Stat(tile).mean
    assert g > 150 > r and g > b, (r, g, b)
    assert draft_picture(draft(title("only words")), media) is None
    assert draft_picture({"t": []}, media) is None


def test_pictures_are_made_once_per_draft_version(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    real = picture_module.draft_picture

    def counted(*args: Any, **kwargs: Any) -> bytes | None:
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(picture_module, "draft_picture", counted)
    pictures = Pictures((W, H))
    d = draft(segments("p1", "p2"))
    first = pictures.get(d, media)
    assert pictures.get(draft(segments("p1", "p2")), media) == first  # the same version
    changed = pictures.get(draft(segments("p1", "p2"), title("New")), media)
    assert changed[0] != first[0] and changed[1] != first[1]
    assert len(made) == 2
