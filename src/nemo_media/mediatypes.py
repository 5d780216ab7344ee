"""What a media file really is, from its first bytes (never from its name). Pure.

The names are the manifests' type names (``jpg``, ``mp4``, ``heic`` ...). ISO base media files
(MP4, MOV, M4A, HEIC) share one container, so the brand in their ``ftyp`` box decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "video", "audio"]

HEAD_BYTES = 64
"""How many leading bytes ``detect`` needs."""


@dataclass(frozen=True)
class MediaType:
    name: str
    kind: Kind
    content_type: str
    extension: str


TYPES: dict[str, MediaType] = {
    t.name: t
    for t in (
        MediaType("jpg", "image", "image/jpeg", ".jpg"),
        MediaType("png", "image", "image/png", ".png"),
        MediaType("gif", "image", "image/gif", ".gif"),
        MediaType("webp", "image", "image/webp", ".webp"),
        MediaType("heic", "image", "image/heic", ".heic"),
        MediaType("mp4", "video", "video/mp4", ".mp4"),
        MediaType("mov", "video", "video/quicktime", ".mov"),
        MediaType("avi", "video", "video/x-msvideo", ".avi"),
        MediaType("webm", "video", "video/webm", ".webm"),
        MediaType("mkv", "video", "video/x-matroska", ".mkv"),
        MediaType("mp3", "audio", "audio/mpeg", ".mp3"),
        MediaType("wav", "audio", "audio/wav", ".wav"),
        MediaType("m4a", "audio", "audio/mp4", ".m4a"),
        MediaType("aac", "audio", "audio/aac", ".aac"),
    )
}

# What the NemoVideo backend takes (its documented list). HEIC is ours: converted before upload.
BACKEND_TYPES = (
    "mp4", "mov", "avi", "webm", "mkv", "jpg", "png", "gif", "webp", "mp3", "wav", "m4a", "aac",
)  # fmt: skip

HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
QUICKTIME_BRANDS = frozenset({b"qt  "})
BARE_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def _iso_media(head: bytes) -> str:
    brand = head[8:12]
    if brand in HEIF_BRANDS:
        return "heic"
    if brand in AUDIO_BRANDS:
        return "m4a"
    if brand in QUICKTIME_BRANDS:
        return "mov"
    return "mp4"


def detect(head: bytes) -> MediaType | None:
    """The media type of a file from its first ``HEAD_BYTES`` bytes, or None."""
    name: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        name = "jpg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        name = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        name = "gif"
    elif head.startswith(b"RIFF") and len(head) >= 12:
        name = {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    elif head[4:8] == b"ftyp":
        name = _iso_media(head)
    elif head[4:8] in BARE_QUICKTIME_ATOMS:
        name = "mov"
    elif head.startswith(b"\x1a\x45\xdf\xa3"):
        name = "webm" if b"webm" in head[:HEAD_BYTES] else "mkv"
    elif head.startswith(b"ID3"):
        name = "mp3"
    elif head.startswith(b"ADIF") or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    ):
        name = "aac"  # ADIF, or ADTS: 12-bit sync with layer 00
    elif len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        name = "mp3"  # MPEG audio frame sync with a layer set
    return TYPES.get(name) if name else None
