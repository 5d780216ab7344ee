"""Which files the backend takes: by extension AND by the first bytes (a text file named .jpg is
refused). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nemo_media.mediatypes import BACKEND_TYPES, HEAD_BYTES, TYPES, detect

Kind = Literal["image", "video", "audio"]

SNIFF_BYTES = HEAD_BYTES
"""How many leading bytes ``sniff`` needs to decide."""


@dataclass(frozen=True)
class FileType:
    kind: Kind
    content_type: str
    families: frozenset[str]
    """Content families (see ``sniff``) a file with this extension may hold."""


_FAMILY = {
    "jpg": "jpeg", "png": "png", "gif": "gif", "webp": "webp", "wav": "wav", "avi": "avi",
    "mp4": "isobmff", "mov": "isobmff", "m4a": "isobmff", "heic": "isobmff",
    "webm": "ebml", "mkv": "ebml", "mp3": "mp3", "aac": "aac",
}  # fmt: skip
# A raw ".aac" file is often MPEG audio in disguise; the cloud takes it, so do we.
_ALSO = {"aac": {"mp3"}}


def _file_type(name: str) -> FileType:
    media = TYPES[name]
    families = frozenset({_FAMILY[name], *_ALSO.get(name, ())})
    return FileType(media.kind, media.content_type, families)


ACCEPTED: dict[str, FileType] = {name: _file_type(name) for name in BACKEND_TYPES}
ACCEPTED["jpeg"] = ACCEPTED["jpg"]
"""The cloud's list (kinds and content types from ``nemo_media.mediatypes``), plus jpeg as jpg."""

ACCEPTED_LIST = ", ".join(BACKEND_TYPES)

_EXTENSION_FOR_CONTENT_TYPE = {
    ft.content_type: ext for ext, ft in ACCEPTED.items() if ext != "jpeg"
}


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, without the dot ('' when none)."""
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def extension_for_content_type(content_type: str) -> str:
    """An accepted extension for a MIME type ('' when none), for URLs without an extension."""
    return _EXTENSION_FOR_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower(), "")


def sniff(head: bytes) -> str | None:
    """The content family of a file from its first bytes, or None when it is none we take.

    The bytes are read by ``nemo_media.mediatypes`` (one magic-byte table for the whole package);
    a family is what the extensions below may hold (MP4, MOV and M4A share one container).
    """
    found = detect(head)
    return _FAMILY.get(found.name) if found else None


def check(name: str, head: bytes) -> FileType | str:
    """The file's type, or the plain reason it is refused."""
    file_type = check_extension(name)
    if isinstance(file_type, FileType) and sniff(head) not in file_type.families:
        ext = extension_of(name)
        return f"{_short(name)} does not look like a .{ext} file (its content is of another type)"
    return file_type


def check_extension(name: str) -> FileType | str:
    """The type the name claims, or why it is refused (content is checked later by ``check``)."""
    ext = extension_of(name)
    file_type = ACCEPTED.get(ext)
    if file_type is None:
        shown = f".{ext} files" if ext else "files without an extension"
        return f"{shown} are not supported; accepted types: {ACCEPTED_LIST}"
    return file_type


def _short(name: str) -> str:
    return name if len(name) <= 60 else name[:57] + "..."
