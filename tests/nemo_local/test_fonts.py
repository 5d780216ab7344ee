"""Titles in any script are drawn with a font that has their glyphs, never as boxes; when no font
can draw them the agent says so. Pillow's drawing first, then the real path: a Chinese request
to the embedded backend, its render decoded, the title's pixels read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from nemo_local import fonts, start_in_thread
from nemo_local.agent import plan_turn
from nemo_local.edits import MediaRef
from nemo_local.encode import draw_caption
from nemo_local.fonts import BUNDLED, NO_GLYPH, Typeface, typeface_for
from nemo_local.render_plan import Caption, RenderPlan

from .conftest import fast_config
from .local_backend_helpers import User, jpeg

GRAY = (90, 90, 90)


def drawing(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> Image.Image:
    """``text`` in white on black, cropped to its ink."""
    image = Image.new("L", (400, 120))
    ImageDraw.Draw(image).text((10, 10), text, font=font, fill=255)
    box = image.getbbox()
    assert box is not None, f"{text!r} drew nothing"
    return image.crop(box)


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def unlike(a: Image.Image, b: Image.Image) -> float:
    """The share of pixels where two ink shapes differ, at the larger one's size: two boxes
    drawn at different offsets score ~0.04 (anti-aliasing), 你 against 好 ~0.3."""
    size = (max(a.width, b.width), max(a.height, b.height))
    diff = ImageChops.difference(a.resize(size), b.resize(size)).point(lambda v: v > 128 and 255)
    return diff.histogram()[255] / (size[0] * size[1])


@pytest.fixture
def no_system_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with no fonts of its own: only Pillow's and the bundled one."""
    monkeypatch.setattr(fonts, "_SYSTEM_FONTS", {"linux": ()})
    monkeypatch.setattr(fonts, "_fontconfig", lambda chars: [])
    fonts._choose.cache_clear()
    yield
    fonts._choose.cache_clear()


def test_latin_titles_keep_the_built_in_font() -> None:
    assert typeface_for("Summer 2025!") == Typeface(None, "")


def test_the_built_in_font_draws_chinese_as_its_notdef_box() -> None:
    """Why the lookup exists: this is the issue's "two empty boxes"."""
    font = Typeface(None).load(48)
    box = drawing(font, NO_GLYPH)
    assert same(drawing(font, "你"), box) and same(drawing(font, "好"), box)


@pytest.mark.usefixtures("no_system_fonts")
def test_without_system_fonts_chinese_gets_the_bundled_font_and_real_glyphs() -> None:
    face = typeface_for("你好，世界")
    assert face == Typeface(str(BUNDLED), "")
    font = face.load(48)
    box = drawing(font, NO_GLYPH)
    ni, hao = drawing(font, "你"), drawing(font, "好")
    assert not same(ni, box) and not same(hao, box) and not same(ni, hao)


def gb2312_level_1() -> str:
    """The 3,755 most common hanzi (GB 2312 level 1, rows 16-55)."""
    rows = (bytes([high, low]) for high in range(0xB0, 0xD8) for low in range(0xA1, 0xFF))
    return "".join(
        c for raw in rows if (c := raw.decode("gb2312", errors="ignore")) and len(c) == 1
    )


def test_the_bundled_font_is_small_and_covers_common_chinese_and_kana() -> None:
    common = gb2312_level_1()
    assert len(common) == 3755
    assert BUNDLED.stat().st_size < 1_200_000
    assert fonts._missing(str(BUNDLED), common + "ひらがなカタカナ，。！") == ""


@pytest.mark.usefixtures("no_system_fonts")
def test_a_script_no_font_has_is_named_in_the_reply_in_the_users_language() -> None:
    face = typeface_for("안녕")
    assert face.missing == "녕안"
    image = MediaRef("m1", "a.jpg", "image")
    for message, words in [("add the title '안녕'", "No font"), ("加上标题「안녕」", "没有能显示")]:
        turn = plan_turn(
            message, {"t": []}, [image], undrawable=lambda text: typeface_for(text).missing
        )
        assert words in turn.reply and "녕안" in turn.reply, turn.reply
    drawable = plan_turn("add the title 'Hi'", {"t": []}, [image], undrawable=lambda t: "")
    assert "No font" not in drawable.reply


def test_a_drawn_chinese_title_is_not_boxes(tmp_path: Path) -> None:
    """The title picture the renderer overlays: its two halves (你, 好) differ; boxes would not."""
    plan = RenderPlan(width=540, height=960, fps=30, frames=30, base=())
    png = draw_caption(Caption("你好", "title", 0, 30), plan, tmp_path / "t.png")
    with Image.open(png) as image:
        ink = image.getchannel("A").point(lambda v: 255 if v > 200 else 0)
    left, right = halves(ink)
    assert unlike(left, right) > 0.15


def halves(ink: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The two characters of a two-character title, each cropped to its own ink."""
    box = ink.getbbox()
    assert box is not None, "nothing drawn"
    ink = ink.crop(box)
    middle = ink.width // 2
    parts = [ink.crop((0, 0, middle, ink.height)), ink.crop((middle, 0, ink.width, ink.height))]
    cropped = []
    for part in parts:
        inner = part.getbbox()
        assert inner is not None, "a character drew nothing"
        cropped.append(part.crop(inner))
    return cropped[0], cropped[1]


def title_ink(frame: Image.Image) -> Image.Image:
    """The white title's pixels in the upper band of a frame whose photos are plain gray."""
    band = frame.crop((0, 0, frame.width, frame.height * 2 // 5)).convert("L")
    return band.point(lambda v: 255 if v > 200 else 0)


def frame_at(path: Path, t: float) -> Image.Image:
    with av.open(str(path)) as container:
        frames = [(f.time, f.to_image()) for f in container.decode(video=0)]
    return min(frames, key=lambda f: abs(f[0] - t))[1]


@pytest.mark.real  # a backend on a port, a real render
async def test_a_chinese_request_renders_a_title_that_is_not_boxes(tmp_path: Path) -> None:
    """The issue's words through the embedded backend: the quoted title is taken (ASCII quotes
    in Chinese), the reply is Chinese, and the exported frame shows two different characters."""
    config = fast_config(tmp_path / "lb", canvas=(360, 640))
    with start_in_thread(config) as backend:
        backend.faults.update({"talkative": True})
        async with httpx.AsyncClient(base_url=backend.url, timeout=60) as http:
            user = await User.create(http, language="en")
            await user.upload(("a.jpg", jpeg(GRAY)), ("b.jpg", jpeg(GRAY)))
            frames = await user.send("把这些照片做成视频，加上标题'你好'")
            reply = final_text(frames)
            draft = await user.draft()
            assert (await user.submit_render("zh")).status_code == 200
            done = await user.wait_render("zh")
            assert done["status"] == "completed", done
            video = tmp_path / "zh.mp4"
            video.write_bytes((await http.get(done["output"]["url"])).content)
    assert "「你好」" in reply and "标题要写什么" not in reply, reply
    assert "你好" in json.dumps(draft, ensure_ascii=False)
    ink = title_ink(frame_at(video, 1.5))
    left, right = halves(ink)
    assert unlike(left, right) > 0.15, "the title came out as two identical boxes"
    assert title_ink(frame_at(video, 4.5)).getbbox() is None, "the title ends at 3 s"


def final_text(frames: list[Any]) -> str:
    finals = [f.data for f in frames if f.data and not f.data.get("partial")]
    return "".join(
        p.get("text", "") for f in finals for p in (f.get("content") or {}).get("parts", [])
    )
