"""What ``export_video`` gives besides its JSON: a link to the saved MP4 and a contact sheet the
assistant can look at (decoded here), and neither when they can't or shouldn't be made."""

from __future__ import annotations

import base64
import io
import itertools
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.types import ImageContent, ResourceLink, TextContent
from PIL import Image, ImageChops, ImageStat

from nemo_mcp.contact_sheet import FRAMES, GAP, MAX_BYTES, tile_size
from nemo_mcp.player import PLAYER_META
from nemo_media.ffmpeg import find_ffmpeg
from tests.fakes.backend import FakeBackend

DRAFT = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 4000, "m": {"name": "a.jpg"}}]}]}
SIZE = (180, 320)


@pytest.fixture(scope="module")
def real_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real H.264 MP4 whose picture changes all the time (FFmpeg's moving test pattern)."""
    path = tmp_path_factory.mktemp("mp4") / "moving.mp4"
    source = f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=25:duration=4"
    subprocess.run(
        [find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p",
         "-c:v", "libx264", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


def tiles(sheet: Image.Image, tile: tuple[int, int]) -> list[Image.Image]:
    width, height = tile
    return [
        sheet.crop((x, y, x + width, y + height))
        for i in range(FRAMES)
        for x, y in [(GAP + (i % 3) * (width + GAP), GAP + (i // 3) * (height + GAP))]
    ]


async def test_an_export_links_the_file_and_shows_six_distinct_frames(
    open_session: Any, fake: FakeBackend, real_mp4: bytes, tmp_path: Path
) -> None:
    fake.draft, fake.mp4 = DRAFT, real_mp4
    async with open_session(output_dir=tmp_path / "out") as s:
        result = await s.call("export_video")
    assert not result.is_error and result.structured_content is not None
    data = result.structured_content
    path = Path(data["path"])
    assert path.read_bytes() == real_mp4
    text, link, image = result.content
    assert isinstance(text, TextContent) and data["path"] in text.text
    assert isinstance(link, ResourceLink)
    assert (link.uri, link.mime_type, link.size) == (path.as_uri(), "video/mp4", len(real_mp4))
    assert link.name == path.name
    assert isinstance(image, ImageContent) and image.mime_type == "image/jpeg"
    jpeg = base64.b64decode(image.data)
    assert len(jpeg) <= MAX_BYTES
    sheet = Image.open(io.BytesIO(jpeg))
    assert sheet.format == "JPEG"
    tile = tile_size(*SIZE)
    assert sheet.size == (GAP + 3 * (tile[0] + GAP), GAP + 2 * (tile[1] + GAP))
    frames = tiles(sheet.convert("RGB"), tile)
    differences = [
        sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)
        for a, b in itertools.combinations(frames, 2)
    ]
    assert min(differences) > 3, "every frame differs from every other"
    assert all(ImageStat.Stat(f).stddev[0] > 10 for f in frames), "no frame is blank"


async def test_the_setting_turns_the_sheet_off_and_the_link_stays(
    open_session: Any, fake: FakeBackend, real_mp4: bytes, tmp_path: Path
) -> None:
    fake.draft, fake.mp4 = DRAFT, real_mp4
    async with open_session(output_dir=tmp_path, contact_sheet=False) as s:
        result = await s.call("export_video")
    kinds = [c.type for c in result.content]
    assert kinds == ["text", "resource_link"]


async def test_a_file_ffmpeg_cannot_read_gives_no_sheet_and_no_error(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    async with open_session(output_dir=tmp_path) as s:
        result = await s.call("export_video")
    assert not result.is_error
    assert [c.type for c in result.content] == ["text", "resource_link"]


async def test_an_export_without_download_has_neither(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    async with open_session(output_dir=tmp_path) as s:
        result = await s.call("export_video", {"download": False})
    assert result.structured_content is not None
    assert result.structured_content["path"] is None and result.structured_content["url"]
    assert [c.type for c in result.content] == ["text"]


async def test_a_streamable_url_reaches_the_player_through_meta_only(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    cdn = "https://cdn.nemo.test/files/out.mp4"

    def completed(request: httpx.Request) -> httpx.Response:
        render_id = request.url.path.rsplit("/", 1)[-1]
        body = {"id": render_id, "status": "completed", "output": {"url": cdn}}
        return httpx.Response(200, json=body)

    fake.fail("render_status", completed)
    async with open_session(output_dir=tmp_path) as s:
        streamed = await s.call("export_video")
        fake.draft = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 2000, "m": {"name": "b.jpg"}}]}]}
        relative = await s.call("export_video")
    assert streamed.meta == {PLAYER_META: {"video_url": cdn}}
    assert streamed.structured_content is not None and streamed.structured_content["url"] == cdn
    assert relative.meta is None, "a URL that needs the token is never handed to the page"
