"""Uploads: multipart streamed to disk, type by extension and content, size by header and by
stream, atomic requests, URL mode limited to this computer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nemo_local import LocalBackend, RunningBackend

from .conftest import fast_config
from .local_backend_helpers import MP4_HEAD, User, jpeg, wav

MB = 1024 * 1024


def stored_files(media_dir: Path) -> set[str]:
    return {p.name for p in media_dir.iterdir()} if media_dir.exists() else set()


def error_code(answer: httpx.Response) -> tuple[int, int]:
    return answer.status_code, answer.json()["code"]


async def chunked_multipart(name: str, head: bytes, megabytes: int) -> AsyncIterator[bytes]:
    """A multipart body sent without Content-Length (chunked), 256 KiB at a time."""
    yield (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="files"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + head
    )
    for _ in range(megabytes * 4):
        yield bytes(256 * 1024)
    yield b"\r\n--BOUNDARY--\r\n"


async def post_chunked(user: User, body: AsyncIterator[bytes]) -> httpx.Response:
    return await user.http.post(
        f"/api/upload-video/nemo_agent/me/{user.session_id}",
        content=body,
        headers={**user.headers, "Content-Type": "multipart/form-data; boundary=BOUNDARY"},
    )


@pytest.fixture
def media_dir(embedded_backend: RunningBackend) -> Path:
    return embedded_backend.config.data_dir / "media"


async def test_several_files_and_a_chinese_name(user: User, media_dir: Path) -> None:
    files = await user.upload(("海边.jpg", jpeg()), ("b.wav", wav(0.5)), ("c.mp4", MP4_HEAD * 4))
    assert [f["name"] for f in files] == ["海边.jpg", "b.wav", "c.mp4"]
    assert [f["kind"] for f in files] == ["image", "audio", "video"]
    for f in files:
        assert (media_dir / Path(f["url"]).name).stat().st_size == f["bytes"]


async def test_a_chunked_upload_without_content_length_is_stored(user: User) -> None:
    answer = await post_chunked(user, chunked_multipart("big.mp4", MP4_HEAD, 2))
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["files"][0]["bytes"] == len(MP4_HEAD) + 2 * MB


@pytest.mark.parametrize(
    ("files", "code"),
    [
        pytest.param([("notes.jpg", b"just some text, not a photo" * 4)], 4001, id="text-as-jpg"),
        pytest.param([("a.txt", b"hello")], 4001, id="txt"),
        pytest.param([("a.jpg", b"")], 4001, id="empty-file"),
        pytest.param(
            [("good.jpg", jpeg()), ("bad.png", b"not a png at all" * 8)],
            4001,
            id="one-bad-file-refuses-all",
        ),
    ],
)
async def test_refused_uploads_leave_nothing_behind(
    user: User, media_dir: Path, files: list[tuple[str, bytes]], code: int
) -> None:
    before = stored_files(media_dir)
    answer = await user.http.post(
        f"/api/upload-video/nemo_agent/me/{user.session_id}",
        files=[("files", f) for f in files],
        headers=user.headers,
    )
    assert error_code(answer) == (415, code)
    assert stored_files(media_dir) == before
    assert (await user.state())["state"]["video_infos"] == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(
            b'--X\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
            b"\r\n\xff\xd8\xff" + bytes(100),
            "multipart/form-data; boundary=X",
            id="truncated",
        ),
        pytest.param(b"whatever", "multipart/form-data", id="no-boundary"),
        pytest.param(
            b'--X\r\nContent-Disposition: form-data; name="other"\r\n\r\nv\r\n--X--\r\n',
            "multipart/form-data; boundary=X",
            id="no-files-field",
        ),
        pytest.param(
            b'{"urls": "http://127.0.0.1/a.jpg"}', "application/json", id="urls-not-a-list"
        ),
        pytest.param(b'{"urls": []}', "application/json", id="urls-empty"),
        pytest.param(
            b'{"urls": ["http://127.0.0.1/a.jpg"], "source_type": "file"}',
            "application/json",
            id="bad-source-type",
        ),
    ],
)
async def test_malformed_uploads_are_422(user: User, content: bytes, content_type: str) -> None:
    answer = await user.http.post(
        f"/api/upload-video/nemo_agent/me/{user.session_id}",
        content=content,
        headers={**user.headers, "Content-Type": content_type},
    )
    assert error_code(answer) == (422, 422)


async def test_too_large_by_content_length_by_stream_and_per_file(tmp_path: Path) -> None:
    async with (
        LocalBackend(fast_config(tmp_path, max_upload_mb=1)) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as http,
    ):
        user = await User.create(http)
        media_dir = tmp_path / "media"
        announced = await http.post(
            f"/api/upload-video/nemo_agent/me/{user.session_id}",
            files={"files": ("big.mp4", MP4_HEAD + bytes(3 * MB))},
            headers=user.headers,
        )
        assert error_code(announced) == (413, 4002)
        streamed = await post_chunked(user, chunked_multipart("big.mp4", MP4_HEAD, 3))
        assert error_code(streamed) == (413, 4002)
        one_file = await http.post(
            f"/api/upload-video/nemo_agent/me/{user.session_id}",
            files={"files": ("big.mp4", MP4_HEAD + bytes(MB + MB // 2))},
            headers=user.headers,
        )
        assert error_code(one_file) == (413, 4002)
        assert "1 MB" in one_file.json()["message"]
        assert stored_files(media_dir) == set(), "partial files are deleted"
        small = await user.upload(("ok.mp4", MP4_HEAD + bytes(MB // 2)))
        assert small[0]["bytes"] == len(MP4_HEAD) + MB // 2, "the connection still works"


async def test_url_mode_fetches_loopback_urls(user: User) -> None:
    first = await user.upload(("sunset.jpg", jpeg()))
    answer = await user.http.post(
        f"/api/upload-video/nemo_agent/me/{user.session_id}",
        json={"urls": [first[0]["url"]], "source_type": "url"},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    fetched = answer.json()["data"]["files"][0]
    assert (fetched["kind"], fetched["bytes"]) == ("image", first[0]["bytes"])
    assert fetched["media_id"] != first[0]["media_id"]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        pytest.param("https://example.com/photo.jpg", 415, 4001, id="not-loopback"),
        pytest.param("http://10.0.0.1/photo.jpg", 415, 4001, id="private-address"),
        pytest.param("file:///etc/passwd", 415, 4001, id="file-scheme"),
        pytest.param("{base}/files/media/med_missing.jpg", 422, 422, id="loopback-404"),
    ],
)
async def test_url_mode_refusals(
    embedded_backend: RunningBackend, user: User, url: str, status: int, code: int
) -> None:
    answer = await user.http.post(
        f"/api/upload-video/nemo_agent/me/{user.session_id}",
        json={"urls": [url.format(base=embedded_backend.url)], "source_type": "url"},
        headers=user.headers,
    )
    assert error_code(answer) == (status, code)
