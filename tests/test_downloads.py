"""Saving the exported MP4: the folder checked before a render, the file written whole or not
at all, never over the user's own file, and credentials only for the API's origin."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.downloads import ROOM_MARGIN, check_folder, room_needed, save_video
from nemo_mcp.errors import BackendUnreachable, FolderUnusable, RequestRejected, ServerFault
from tests.backend.conftest import BrokenStream
from tests.backend.test_client import token_route
from tests.conftest import API

Factory = Callable[..., BackendClient]

MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40


async def test_download_never_overwrites_and_leaves_no_temp(
    make_client: Factory, router: respx.MockRouter, tmp_path: Path
) -> None:
    token_route(router)
    router.get("/files/r.mp4").mock(return_value=httpx.Response(200, content=MP4))
    dest = tmp_path / "videos" / "v.mp4"
    dest.parent.mkdir()
    dest.write_bytes(b"the user's own file")
    async with make_client() as client:
        first = await save_video(client, "/files/r.mp4", dest)
        second = await save_video(client, f"{API}/files/r.mp4", dest)
    assert dest.read_bytes() == b"the user's own file"
    assert first.name == "v (2).mp4" and second.name == "v (3).mp4"
    assert first.read_bytes() == MP4
    assert sorted(p.name for p in dest.parent.iterdir()) == ["v (2).mp4", "v (3).mp4", "v.mp4"]


async def test_foreign_download_gets_no_credentials(
    make_client: Factory, router: respx.MockRouter, tmp_path: Path
) -> None:
    token_route(router)
    cdn = router.get("https://cdn.example.test/x.mp4").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with make_client() as client:
        await save_video(client, "https://cdn.example.test/x.mp4", tmp_path / "x.mp4")
    headers = cdn.calls[0].request.headers
    assert "authorization" not in headers
    assert "X-Skill-Source" not in headers


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(
            httpx.Response(200, content=b"<html>not a video</html>"), ServerFault, id="not-mp4"
        ),
        pytest.param(httpx.Response(200, content=b""), ServerFault, id="empty"),
        pytest.param(
            httpx.Response(404, json={"code": 404, "message": "gone"}), RequestRejected, id="404"
        ),
        pytest.param(
            httpx.Response(
                200, headers={"content-length": str(len(MP4) + 10)}, stream=BrokenStream(MP4)
            ),
            BackendUnreachable,
            id="cut-off",
        ),
    ],
)
async def test_failed_downloads_leave_nothing(
    make_client: Factory,
    router: respx.MockRouter,
    tmp_path: Path,
    answer: httpx.Response,
    error: type[Exception],
) -> None:
    token_route(router)
    (tmp_path / "dl").mkdir()
    router.get("/files/r.mp4").mock(return_value=answer)
    async with make_client() as client:
        with pytest.raises(error):
            await save_video(client, "/files/r.mp4", tmp_path / "dl" / "v.mp4")
    assert list((tmp_path / "dl").iterdir()) == []


async def test_cancelled_download_leaves_nothing(
    make_client: Factory, router: respx.MockRouter, tmp_path: Path
) -> None:
    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield MP4
            while True:
                await anyio.sleep(0.01)
                yield b"\x00" * 1024

    token_route(router)
    (tmp_path / "dl").mkdir()
    router.get("/files/r.mp4").mock(return_value=httpx.Response(200, stream=Endless()))
    async with make_client() as client:
        with anyio.move_on_after(0.2):
            await save_video(client, "/files/r.mp4", tmp_path / "dl" / "v.mp4")
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_folder_that_does_not_exist_yet_is_made(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "videos"
    check_folder(folder, ROOM_MARGIN)
    assert folder.is_dir()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(
            lambda t: (t / "f").write_text("x") and t / "f", "is a file, not a folder", id="a-file"
        ),
        pytest.param(
            lambda t: (t / "f").write_text("x") and t / "f" / "sub",
            "/f is a file",
            id="through-a-file",
        ),
    ],
)
def test_a_folder_that_cannot_be_used_names_itself(
    tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    folder = make(tmp_path)
    with pytest.raises(FolderUnusable) as info:
        check_folder(folder, ROOM_MARGIN)
    assert str(folder) in str(info.value) and words in str(info.value)
    assert "nothing was rendered" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_write_permission_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(FolderUnusable, match="can't be written"):
        check_folder(folder, ROOM_MARGIN)


def test_a_folder_without_room_is_refused(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(FolderUnusable, match="free and the video needs"):
        check_folder(tmp_path, free * 2)


def test_room_grows_with_the_video() -> None:
    assert room_needed(60_000) > room_needed(1_000) > ROOM_MARGIN
