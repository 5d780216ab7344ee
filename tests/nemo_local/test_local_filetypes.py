"""Accepted file types by extension and content, and the ADK event framing."""

from __future__ import annotations

import json

import pytest

from nemo_local import adk, filetypes

from .local_backend_helpers import MP4_HEAD, jpeg, png, wav

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(54)
ADTS = b"\xff\xf1\x50\x80" + bytes(60)
MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(60)
EBML = b"\x1a\x45\xdf\xa3" + bytes(60)
RIFF_AVI = b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(48)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(48)
QT = b"\x00\x00\x00\x08wide" + bytes(56)


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        pytest.param("a.jpg", jpeg(), "image", id="jpg"),
        pytest.param("A.JPEG", jpeg(), "image", id="jpeg-upper"),
        pytest.param("a.png", png(), "image", id="png"),
        pytest.param("a.gif", b"GIF89a" + bytes(58), "image", id="gif"),
        pytest.param("a.webp", WEBP, "image", id="webp"),
        pytest.param("a.mp4", MP4_HEAD + bytes(40), "video", id="mp4"),
        pytest.param("a.mov", QT, "video", id="mov-wide-atom"),
        pytest.param("a.avi", RIFF_AVI, "video", id="avi"),
        pytest.param("a.webm", EBML, "video", id="webm"),
        pytest.param("a.mkv", EBML, "video", id="mkv"),
        pytest.param("a.mp3", ID3, "audio", id="mp3-id3"),
        pytest.param("a.mp3", MP3_FRAME, "audio", id="mp3-frame"),
        pytest.param("a.wav", wav(0.1), "audio", id="wav"),
        pytest.param("a.m4a", MP4_HEAD + bytes(40), "audio", id="m4a"),
        pytest.param("a.aac", ADTS, "audio", id="aac-adts"),
    ],
)
def test_accepted(name: str, head: bytes, kind: str) -> None:
    verdict = filetypes.check(name, head[: filetypes.SNIFF_BYTES])
    assert isinstance(verdict, filetypes.FileType), verdict
    assert verdict.kind == kind


@pytest.mark.parametrize(
    ("name", "head", "reason"),
    [
        pytest.param(
            "notes.jpg", b"hello, I am text" * 4, "does not look like a .jpg", id="text-as-jpg"
        ),
        pytest.param("a.png", jpeg(), "does not look like a .png", id="jpeg-as-png"),
        pytest.param("a.mp4", ID3, "does not look like a .mp4", id="mp3-as-mp4"),
        pytest.param("a.txt", b"hello", ".txt files are not supported", id="txt"),
        pytest.param("a.heic", b"\x00\x00\x00\x18ftypheic", ".heic files", id="heic"),
        pytest.param("noext", jpeg(), "without an extension", id="no-extension"),
        pytest.param("a.jpg", b"", "does not look like", id="empty"),
    ],
)
def test_refused(name: str, head: bytes, reason: str) -> None:
    verdict = filetypes.check(name, head)
    assert isinstance(verdict, str)
    assert reason in verdict


def test_frames_are_compact_utf8_json_lines() -> None:
    inv = adk.Invocation()
    raw = adk.frame(inv.event([adk.text_part("视频 ✓")], partial=True))
    assert raw.startswith(b"data: {") and raw.endswith(b"}\n\n")
    assert "视频 ✓".encode() in raw, "no \\u escapes"
    event = json.loads(raw[6:])
    assert list(event) == [
        "content",
        "partial",
        "invocationId",
        "author",
        "actions",
        "nodeInfo",
        "id",
        "timestamp",
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Your video is ready. Click the Export button to download it.", id="words"),
        pytest.param("视频已生成，点击导出按钮即可下载。", id="cjk"),
        pytest.param("ok", id="short"),
    ],
)
def test_streamed_text_partials_join_into_the_final(text: str) -> None:
    evs = adk.Invocation().text(text, streaming=True)
    *partials, final = evs
    assert all(e["partial"] for e in partials) and "partial" not in final
    assert {e["id"] for e in evs} == {final["id"]}
    assert "".join(e["content"]["parts"][0]["text"] for e in partials) == text
    assert final["content"]["parts"][0]["text"] == text


def test_error_frame_has_adks_shape_and_spacing() -> None:
    raw = adk.error_frame("RuntimeError", "boom")
    assert raw.startswith(b'data: {"error": "RuntimeError: boom", "error_details": {')
