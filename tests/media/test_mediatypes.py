from __future__ import annotations

import pytest

from nemo_media.mediatypes import detect

FTYP = b"\0\0\0\x18ftyp"


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        pytest.param(b"\xff\xd8\xff\xe0\0\x10JFIF", "jpg", "image", id="jpeg"),
        pytest.param(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "png", "image", id="png"),
        pytest.param(b"GIF89a\x01\0", "gif", "image", id="gif89"),
        pytest.param(b"GIF87a\x01\0", "gif", "image", id="gif87"),
        pytest.param(b"RIFF\0\0\0\0WEBPVP8 ", "webp", "image", id="webp"),
        pytest.param(FTYP + b"heic\0\0\0\0mif1heic", "heic", "image", id="heic"),
        pytest.param(FTYP + b"mif1\0\0\0\0", "heic", "image", id="heif-mif1"),
        pytest.param(FTYP + b"isom\0\0\x02\0isomiso2", "mp4", "video", id="mp4-isom"),
        pytest.param(FTYP + b"mp42\0\0\0\0", "mp4", "video", id="mp4-mp42"),
        pytest.param(FTYP + b"qt  \0\0\0\0", "mov", "video", id="mov"),
        pytest.param(b"\0\0\0\x08wide\0\0\0\0mdat", "mov", "video", id="mov-no-ftyp"),
        pytest.param(FTYP + b"M4A \0\0\0\0", "m4a", "audio", id="m4a"),
        pytest.param(b"RIFF\0\0\0\0AVI LIST", "avi", "video", id="avi"),
        pytest.param(
            b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\x82\x84webm", "webm", "video", id="webm"
        ),
        pytest.param(b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\x82\x88matroska", "mkv", "video", id="mkv"),
        pytest.param(b"ID3\x04\0\0\0\0\0\0", "mp3", "audio", id="mp3-id3"),
        pytest.param(b"\xff\xfb\x90\x64", "mp3", "audio", id="mp3-frame"),
        pytest.param(b"\xff\xf1\x50\x80", "aac", "audio", id="aac-adts"),
        pytest.param(b"ADIF\0\0", "aac", "audio", id="aac-adif"),
        pytest.param(b"RIFF\0\0\0\0WAVEfmt ", "wav", "audio", id="wav"),
    ],
)
def test_detects_by_content(head: bytes, name: str, kind: str) -> None:
    found = detect(head)
    assert found is not None
    assert (found.name, found.kind) == (name, kind)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, these are holiday notes", id="text"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"PK\x03\x04", id="zip"),
        pytest.param(b"RIFF\0\0\0\0XXXX", id="other-riff"),
        pytest.param(b"\xff\xd8", id="truncated-jpeg"),
        pytest.param(b"\xff\xe0", id="mp3-sync-without-layer"),
        pytest.param(b"<html><body>", id="html"),
    ],
)
def test_refuses_what_is_not_media(head: bytes) -> None:
    assert detect(head) is None
