"""Every way a path or a link can be wrong, each refused alone while the rest of the call goes on.

Each row is sent with one good photo beside it: the good one is uploaded, the bad one is listed in
``rejected`` with its reason in plain words, and the backend receives exactly one upload (the bad
item was refused before a byte of it was read or sent). A FIFO must not hang the call.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import ListRootsResult, Root

from nemo_mcp.samples import make_photo
from nemo_mcp.server import create_server
from tests.reliability.conftest import assert_plain_words, text_of

Make = Callable[[Path, Path], str]


def _outside(media: Path, elsewhere: Path) -> Path:
    return make_photo(elsewhere / "outside.jpg", 1, (32, 32))


def _link(name: str, target: Callable[[Path, Path], Path]) -> Make:
    def make(media: Path, elsewhere: Path) -> str:
        link = media / name
        link.symlink_to(target(media, elsewhere))
        return str(link)

    return make


def _write(name: str, data: bytes) -> Make:
    def make(media: Path, elsewhere: Path) -> str:
        path = media / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)

    return make


def _sparse(media: Path, elsewhere: Path) -> str:
    path = media / "huge.jpg"
    with path.open("wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + b"\0" * 60)
        f.truncate(201 * 1024 * 1024)  # sparse: no disk used
    return str(path)


def _fifo(media: Path, elsewhere: Path) -> str:
    path = media / "pipe.jpg"
    os.mkfifo(path)
    return str(path)


def _hidden_folder(media: Path, elsewhere: Path) -> str:
    return str(make_photo(media / ".private" / "a.jpg", 2, (32, 32)))


def _folder(media: Path, elsewhere: Path) -> str:
    (media / "album").mkdir()
    return str(media / "album")


PNG_HEAD = b"\x89PNG\r\n\x1a\n"
PATHS: dict[str, Make] = {
    "dot-dot escape": lambda m, e: f"{m}/../elsewhere/{_outside(m, e).name}",
    "outside the roots": lambda m, e: str(_outside(m, e)),
    "symlink out": _link("link.jpg", _outside),
    "symlink to /etc/passwd": _link("passwd.jpg", lambda m, e: Path("/etc/passwd")),
    "symlink to a device": _link("zero.jpg", lambda m, e: Path("/dev/zero")),
    "a device": lambda m, e: "/dev/zero",
    "the null device": lambda m, e: "/dev/null",
    "a FIFO": _fifo,
    "hidden file": lambda m, e: str(make_photo(m / ".hidden.jpg", 3, (32, 32))),
    "hidden folder": _hidden_folder,
    "a folder": _folder,
    "empty file": _write("empty.jpg", b""),
    "text named .jpg": _write("notes.jpg", b"my holiday notes, not a picture\n" * 10),
    "html named .png": _write("page.png", b"<!DOCTYPE html><html></html>" * 10),
    "truncated PNG signature": _write("half.png", PNG_HEAD[:4] + b"\0" * 100),
    "over the size limit": _sparse,
    "newline in the path": lambda m, e: f"{m}/a\nb.jpg",
    "NUL in the path": lambda m, e: f"{m}/a\x00b.jpg",
    "escape sequence": lambda m, e: f"{m}/\x1b[31mred.jpg",
    "relative path": lambda m, e: "photos/a.jpg",
    "empty path": lambda m, e: "",
    "missing file": lambda m, e: f"{m}/nope.jpg",
    "file URI of another host": lambda m, e: "file://otherhost/etc/passwd",
    "very long name": lambda m, e: f"{m}/{'a' * 5000}.jpg",
    "path through a file": lambda m, e: f"{make_photo(m / 'f.jpg', 4, (32, 32))}/inner.jpg",
}
URLS = {
    "ftp link": "ftp://example.com/a.jpg",
    "javascript": "javascript:alert(1)",
    "data URL": "data:image/jpeg;base64,/9j/4AAQ",
    "file URL": "file:///etc/passwd",
    "no host": "http://",
    "broken IPv6": "http://[::1/a.jpg",
    "bad port": "http://example.com:99999/a.jpg",
    "space in host": "http://exa mple.com/a.jpg",
    "credentials": "https://user:secret@example.com/a.jpg",
    "control char": "https://example.com/a\r\n.jpg",
    "too long": "https://example.com/" + "a" * 3000 + ".jpg",
    "no scheme": "example.com/a.jpg",
    "empty": "",
    "wrong type for the skill": "https://example.com/clip.mp4",
}


async def test_each_bad_path_and_link_is_refused_alone(
    open_live: Any, tmp_path: Path, figures: Counter[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    problems: list[str] = []
    async with open_live() as live:
        cases = [
            (f"path: {n}", {"paths": [make(live.media, elsewhere)]}) for n, make in PATHS.items()
        ]
        cases += [(f"url: {n}", {"urls": [url]}) for n, url in URLS.items()]
        for index, (name, bad) in enumerate(cases):
            good = make_photo(live.media / f"good{index}.jpg", index, (48, 64))
            arguments = {"paths": [*bad.get("paths", []), str(good)], "urls": bad.get("urls", [])}
            live.backend.stats.reset()
            started = time.monotonic()
            result = await live.call("upload_media", arguments)
            took = time.monotonic() - started
            said = text_of(result)
            data = result.structured_content or {}
            try:
                assert not result.is_error, said[:300]
                assert [u["name"] for u in data["uploaded"]] == [good.name]
                (refused,) = data["rejected"]
                assert len(refused["reason"]) > 20, refused
                assert_plain_words(said)
                assert live.count("upload") == 1, f"{live.count('upload')} uploads sent"
                assert took < 5, f"took {took:.1f} s"
            except (AssertionError, KeyError, ValueError) as exc:
                problems.append(f"{name}: {exc}")
            figures["bad paths and links refused alone"] += 1
    assert not problems, "\n".join(problems)


async def test_client_roots_are_decoded_as_file_uris(
    open_live: Any, live_settings: Any, manifest: Any, tmp_path: Path, figures: Counter[str]
) -> None:
    """A root whose name has a space, a percent sign and non-ASCII letters grants its files."""
    granted = tmp_path / "My Videos 100% été"
    photo = make_photo(granted / "beach day.jpg", 0, (48, 64))
    outside = make_photo(live_settings.media_roots[0] / "not granted.jpg", 1, (48, 64))

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=granted.as_uri(), name="videos")])

    server = create_server(manifest, live_settings)
    async with Client(server, mode="legacy", list_roots_callback=list_roots) as client:
        ok = await client.call_tool("upload_media", {"paths": [str(photo)]})
        refused = await client.call_tool("upload_media", {"paths": [str(outside)]})
    assert not ok.is_error, text_of(ok)
    assert [u["name"] for u in (ok.structured_content or {})["uploaded"]] == ["beach day.jpg"]
    assert refused.is_error and "outside the folders" in text_of(refused)
    figures["bad paths and links refused alone"] += 1


async def test_a_link_the_backend_cannot_fetch_says_so(
    open_live: Any, figures: Counter[str]
) -> None:
    """Not "unsupported file type": the backend could not fetch it, and the file beside it went."""
    async with open_live() as live:
        good = make_photo(live.media / "good.jpg", 0, (48, 64))
        dead = "http://127.0.0.1:9/nothing-listens-here.jpg"
        result = await live.call("upload_media", {"paths": [str(good)], "urls": [dead]})
    data = result.structured_content or {}
    assert not result.is_error, text_of(result)
    assert [u["name"] for u in data["uploaded"]] == ["good.jpg"]
    (refused,) = data["rejected"]
    assert "could not fetch" in refused["reason"], refused
    assert "type" not in refused["reason"], refused
    figures["bad paths and links refused alone"] += 1


async def test_a_file_that_grows_while_it_is_sent_is_named_as_the_cause(
    live_settings: Any, manifest: Any, figures: Counter[str]
) -> None:
    """Not "the backend could not be reached": the user's file changed; the network is fine."""
    from nemo_mcp.backend.client import BackendClient
    from nemo_mcp.errors import FileChanged
    from nemo_mcp.store import SQLiteStore
    from nemo_mcp.words import user_message

    photo = make_photo(live_settings.media_roots[0] / "growing.jpg", 0, (48, 64))
    with photo.open("ab") as f:
        f.write(b"\0" * (3 * 1024 * 1024))

    async def grow(sent: int, total: int | None) -> None:
        with photo.open("ab") as f:
            f.write(b"\0" * 1024 * 1024)

    store = SQLiteStore.in_folder(live_settings.config_dir)
    async with BackendClient(live_settings, manifest, store) as client:
        try:
            await client.upload_file(
                photo, filename=photo.name, content_type="image/jpeg", progress=grow
            )
        except FileChanged as exc:
            words = user_message(exc)
        else:
            raise AssertionError("the growing file was sent as if whole")
    await store.close()
    assert "grew while it was being uploaded" in words
    figures["bad paths and links refused alone"] += 1


async def test_a_file_over_the_backends_own_limit_says_its_size(
    open_live: Any, figures: Counter[str]
) -> None:
    """The backend's limit (5 MB here) is below the skill's (200 MB): the words must not cite a
    limit the file is under; they say its size."""
    async with open_live() as live:
        big = make_photo(live.media / "big.jpg", 0, (48, 64))
        with big.open("ab") as f:
            f.write(os.urandom(6 * 1024 * 1024))
        good = make_photo(live.media / "good.jpg", 1, (48, 64))
        result = await live.call("upload_media", {"paths": [str(big), str(good)]})
    data = result.structured_content or {}
    assert [u["name"] for u in data["uploaded"]] == ["good.jpg"], text_of(result)
    (refused,) = data["rejected"]
    assert "6.0 MB" in refused["reason"] and "200 MB" not in refused["reason"], refused
    figures["bad paths and links refused alone"] += 1
