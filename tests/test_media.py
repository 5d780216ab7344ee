from __future__ import annotations

import os
from pathlib import Path

import pytest

from nemo_mcp.errors import InputError
from nemo_mcp.manifests import Manifest
from nemo_mcp.media import allowed_roots, check_local_file, check_url

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    (tmp_path / "root").mkdir()
    return allowed_roots(None, [tmp_path / "root"])


def write(path: Path, data: bytes = JPEG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_good_file_passes(tmp_path: Path, roots: list[Path], manifest: Manifest) -> None:
    path = write(tmp_path / "root" / "sub" / "beach.jpg")
    media = check_local_file(str(path), roots, manifest)
    assert (media.name, media.size, media.media.name) == ("beach.jpg", len(JPEG), "jpg")
    assert not media.needs_conversion


def test_type_comes_from_content_not_name(
    tmp_path: Path, roots: list[Path], manifest: Manifest
) -> None:
    path = write(tmp_path / "root" / "photo.png")  # JPEG bytes named .png
    assert check_local_file(str(path), roots, manifest).media.name == "jpg"


def test_home_tilde_and_file_urls(
    tmp_path: Path, manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / "pics" / "a.jpg")
    home_roots = allowed_roots(None, [])
    assert home_roots == [tmp_path.resolve()]
    assert check_local_file("~/pics/a.jpg", home_roots, manifest).name == "a.jpg"
    uri = (tmp_path / "pics" / "a.jpg").as_uri()
    assert check_local_file(uri, home_roots, manifest).name == "a.jpg"


def test_client_roots_win_over_configured(tmp_path: Path) -> None:
    assert allowed_roots([tmp_path / "c"], [tmp_path / "cfg"]) == [tmp_path / "c"]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda t: str(t / "root" / "none.jpg"), "There is no file", id="missing"),
        pytest.param(lambda t: str(t / "root"), "is a folder", id="folder"),
        pytest.param(lambda t: "", "empty path", id="empty"),
        pytest.param(lambda t: "a.jpg", "relative path", id="relative"),
        pytest.param(lambda t: str(write(t / "out.jpg")), "outside the folders", id="outside"),
        pytest.param(lambda t: str(write(t / "root" / ".h" / "a.jpg")), "hidden", id="hidden-dir"),
        pytest.param(lambda t: str(write(t / "root" / ".a.jpg")), "hidden", id="hidden-file"),
        pytest.param(lambda t: str(write(t / "root" / "e.jpg", b"")), r"empty \(0 bytes\)",
                     id="empty-file"),
        pytest.param(lambda t: str(write(t / "root" / "t.jpg", b"just text" * 9)),
                     "not a photo, video or audio", id="text"),
        pytest.param(lambda t: str(write(t / "root" / "v.mp4", b"\0\0\0\x18ftypisom" + b"\0" * 60)),
                     "MP4 file, which Picture to Video AI does not take", id="wrong-kind"),
    ],
)  # fmt: skip
def test_refusals_name_problem_and_fix(
    tmp_path: Path, roots: list[Path], manifest: Manifest, make: object, words: str
) -> None:
    raw = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=words):
        check_local_file(raw, roots, manifest)


def test_fifo_is_not_a_regular_file(tmp_path: Path, roots: list[Path], manifest: Manifest) -> None:
    fifo = tmp_path / "root" / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        check_local_file(str(fifo), roots, manifest)


def test_symlink_is_resolved_before_the_root_check(
    tmp_path: Path, roots: list[Path], manifest: Manifest
) -> None:
    target = write(tmp_path / "secret" / "a.jpg")
    link = tmp_path / "root" / "a.jpg"
    link.symlink_to(target)
    with pytest.raises(InputError, match="outside the folders"):
        check_local_file(str(link), roots, manifest)
    inner = write(tmp_path / "root" / "real.jpg")
    (tmp_path / "root" / "alias.jpg").symlink_to(inner)
    assert (
        check_local_file(str(tmp_path / "root" / "alias.jpg"), roots, manifest).name == "real.jpg"
    )


def test_size_is_checked_before_reading(
    tmp_path: Path, roots: list[Path], manifest: Manifest
) -> None:
    big = tmp_path / "root" / "big.jpg"
    with big.open("wb") as f:
        f.write(JPEG)
        f.truncate(manifest.max_upload_bytes + 1)
    with pytest.raises(InputError, match="over the 200 MB limit"):
        check_local_file(str(big), roots, manifest)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("ftp://h/a.jpg", "ftp://", id="ftp"),
        pytest.param("file:///etc/passwd", "file://", id="file"),
        pytest.param("example.com/a.jpg", "without http", id="no-scheme"),
        pytest.param("https:///a.jpg", "no host", id="no-host"),
        pytest.param("https://u:p@h/a.jpg", "user name or password", id="credentials"),
        pytest.param("https://h/" + "a" * 3000, "longer than", id="long"),
        pytest.param("https://h/doc.mp4", "MP4 file", id="type-not-accepted"),
        pytest.param("  ", "empty URL", id="empty"),
    ],
)
def test_bad_urls(url: str, words: str, manifest: Manifest) -> None:
    with pytest.raises(InputError, match=words):
        check_url(url, manifest)


@pytest.mark.parametrize(
    "url", ["https://h/a.jpg", "http://h/a.JPEG", "https://h/get?id=3", "https://h/song.mp3"]
)
def test_good_urls(url: str, manifest: Manifest) -> None:
    assert check_url(url, manifest) == url
