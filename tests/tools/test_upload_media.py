"""``upload_media`` in memory: every item checked before a byte is sent, each refused alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.samples import make_photo
from tests.fakes.backend import FakeBackend, envelope
from tests.tools.conftest import text_of


def photo(tmp_path: Path, name: str = "a.jpg", index: int = 0) -> Path:
    return make_photo(tmp_path / "media" / name, index, (64, 64))


async def test_files_and_links_are_uploaded(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    a, b = photo(tmp_path, "a.jpg"), photo(tmp_path, "b.jpg", 1)
    async with open_session() as s:
        data = await s.data(
            "upload_media", {"paths": [str(a), str(b)], "urls": ["https://cdn.test/c.png"]}
        )
    assert data["status"] == "done" and data["rejected"] == []
    assert [(u["name"], u["type"], u["source"]) for u in data["uploaded"]] == [
        ("a.jpg", "jpg", "file"),
        ("b.jpg", "jpg", "file"),
        ("https://cdn.test/c.png", "url", "url"),
    ]
    assert data["uploaded"][0]["bytes"] == a.stat().st_size
    assert fake.media == ["a.jpg", "b.jpg", "c.png"]


BAD_ITEMS = [
    pytest.param({"paths": ["relative/x.jpg"]}, "relative path", id="relative"),
    pytest.param({"paths": ["/nowhere/x.jpg"]}, "no file at", id="missing"),
    pytest.param({"paths": ["/etc/hostname"]}, "outside the folders", id="outside"),
    pytest.param({"paths": ["/tmp/a\nb.jpg"]}, "control character", id="control-char"),
    pytest.param({"paths": ["/tmp/a\x00b.jpg"]}, "control character", id="nul"),
    pytest.param({"paths": ["file://remote.host/x.jpg"]}, "not a local file link", id="remote-uri"),
    pytest.param({"urls": ["ftp://x.test/a.jpg"]}, "cannot be fetched", id="ftp"),
    pytest.param({"urls": ["https://[::1/a.jpg"]}, "not a valid link", id="malformed"),
    pytest.param({"urls": ["https://x.test:99999/a.jpg"]}, "not a valid link", id="bad-port"),
    pytest.param({"urls": ["https://x .test/a.jpg"]}, "spaces or control", id="space"),
    pytest.param({"urls": ["https://u:p@x.test/a.jpg"]}, "user name or password", id="userinfo"),
    pytest.param({"urls": ["https://x.test/a.mkv"]}, "does not take", id="wrong-type"),
]


@pytest.mark.parametrize(("arguments", "words"), BAD_ITEMS)
async def test_a_bad_item_is_refused_alone_and_the_rest_goes_on(
    open_session: Any,
    fake: FakeBackend,
    tmp_path: Path,
    arguments: dict[str, list[str]],
    words: str,
) -> None:
    good = photo(tmp_path)
    arguments = {
        "paths": [*arguments.get("paths", []), str(good)],
        "urls": arguments.get("urls", []),
    }
    async with open_session() as s:
        data = await s.data("upload_media", arguments)
    assert [u["name"] for u in data["uploaded"]] == ["a.jpg"]
    (refused,) = data["rejected"]
    assert words in refused["reason"]
    assert "\n" not in refused["name"] and "\x00" not in refused["name"]
    assert fake.count("upload") == 1


async def test_nothing_good_is_an_error_listing_every_reason(
    open_session: Any, fake: FakeBackend
) -> None:
    async with open_session() as s:
        words = await s.error("upload_media", {"paths": ["/nowhere/x.jpg"], "urls": ["ftp://a/b"]})
        empty = await s.error("upload_media", {})
    assert "Nothing was uploaded" in words and "no file at" in words and "ftp://" in words
    assert "Nothing to upload" in empty
    assert fake.count("upload") == 0


async def test_a_file_the_backend_refuses_is_refused_with_the_accepted_types(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    a, b = photo(tmp_path, "a.jpg"), photo(tmp_path, "b.jpg", 1)
    fake.fail("upload", envelope(None, code=4001, status=415, message="<html>no</html>"))
    async with open_session() as s:
        data = await s.data("upload_media", {"paths": [str(a), str(b)]})
    assert [u["name"] for u in data["uploaded"]] == ["b.jpg"]
    reason = data["rejected"][0]["reason"]
    assert "Accepted types: jpg, png, webp" in reason and "<html>" not in reason


async def test_a_file_that_changes_while_it_is_sent_is_an_input_error(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    a = photo(tmp_path, "a.jpg")

    async def grow_then_read(request: httpx.Request) -> httpx.Response:
        with a.open("ab") as f:
            f.write(os.urandom(4096))
        await request.aread()
        return envelope({})

    fake.fail("upload", grow_then_read)
    async with open_session() as s:
        words = await s.error("upload_media", {"paths": [str(a)]})
    assert "a.jpg grew while it was being uploaded" in words
    assert "network" not in words


async def test_an_unreachable_backend_is_said_in_plain_words(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.fail("token", lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    async with open_session() as s:
        words = await s.error("upload_media", {"paths": [str(photo(tmp_path))]})
    assert "could not be reached" in words and "ConnectError" not in words


async def test_client_roots_are_uris_and_a_space_in_a_folder_is_fine(
    tool_settings: Any, manifest: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    from mcp import Client
    from mcp.types import ListRootsResult, Root

    from nemo_mcp.server import create_server

    granted = tmp_path / "My Videos"
    inside = make_photo(granted / "ok.jpg", 0, (64, 64))

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=granted.as_uri(), name="videos")])

    server = create_server(manifest, tool_settings, transport=fake.transport)
    async with Client(server, mode="legacy", list_roots_callback=list_roots) as client:
        result = await client.call_tool("upload_media", {"paths": [str(inside)]})
    assert not result.is_error, text_of(result)
    assert "%20" in granted.as_uri()


@pytest.mark.parametrize(
    ("overrides", "first_words", "language"),
    [
        pytest.param({"locale": "en_US.UTF-8"}, "上传这些照片", "zh", id="first-words-win"),
        pytest.param({"locale": "de_DE.UTF-8"}, None, "de", id="no-words-the-locale"),
        pytest.param({"locale": "en_US.UTF-8", "language": "fr"}, "上传这些照片", "fr",
                     id="setting-wins"),
    ],
)  # fmt: skip
async def test_a_session_an_upload_creates_speaks_the_first_words_the_user_sent(
    open_session: Any,
    fake: FakeBackend,
    tmp_path: Path,
    overrides: dict[str, str],
    first_words: str | None,
    language: str,
) -> None:
    """A Chinese-first conversation that starts with an upload: the words came to send_edit
    (answered here: "call upload_media"), the session is created by the upload after them."""
    a = photo(tmp_path)
    async with open_session(**overrides) as s:
        if first_words:
            said = await s.data("send_edit", {"message": first_words})
            assert said["intent"] == "upload" and fake.count("session") == 0
        await s.data("upload_media", {"paths": [str(a)]})
        await s.data("send_edit", {"message": "make a video"})
    [created] = [r for r in fake.requests if fake.route_of(r) == "session"]
    assert json.loads(created.content)["language"] == language
