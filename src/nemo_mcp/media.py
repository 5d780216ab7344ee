"""Checking what the user asks us to upload, before a single byte is sent.

Local files must be regular files under an allowed root (the client's MCP roots when it declares
some, else ``NEMO_MEDIA_ROOTS``, else the user's home), not hidden and not inside a hidden
folder; symlinks are resolved before the check, so a link cannot lead outside. The type comes
from the file's content, the size from the file system, and every refusal is plain words that
name the problem and the fix.

HEIC photos are converted to JPEG (the backend does not take HEIC) with the optional
``pillow-heif``; without it the refusal says how to install it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nemo_mcp.errors import InputError
from nemo_mcp.manifests import Manifest
from nemo_media.mediatypes import HEAD_BYTES, TYPES, MediaType, detect

MAX_URL_LENGTH = 2048
URL_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class LocalMedia:
    """A file that passed every check."""

    path: Path
    name: str
    size: int
    media: MediaType

    @property
    def needs_conversion(self) -> bool:
        return self.media.name == "heic"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def allowed_roots(client_roots: Sequence[Path] | None, configured: Sequence[Path]) -> list[Path]:
    """The client's roots when it declares some, else the configured ones, else home."""
    chosen: Iterable[Path] = client_roots or configured or [Path.home()]
    return [Path(os.path.realpath(Path(r).expanduser())) for r in chosen]


def _under(path: Path, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        if path == root or path.is_relative_to(root):
            return root
    return None


def check_local_file(raw: str, roots: Sequence[Path], manifest: Manifest) -> LocalMedia:
    """The checked file, or an ``InputError`` saying what is wrong and what to do."""
    text = raw.strip()
    if not text:
        raise InputError(
            "An empty path was given. Pass the full path of a photo, video or audio file."
        )
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    given = Path(text).expanduser()
    shown = given.name or text
    if not given.is_absolute():
        raise InputError(f"{text} is a relative path. Pass the full path (starting with / or ~).")
    try:
        real = Path(os.path.realpath(given, strict=True))
        info = real.stat()
    except FileNotFoundError:
        raise InputError(
            f"There is no file at {given}. Check the path and the file name."
        ) from None
    except OSError as exc:
        raise InputError(f"{given} cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{given} is a folder. Pass the files inside it, one path each.")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{given} is not a regular file. Pass a photo, video or audio file.")
    root = _under(real, roots)
    if root is None:
        places = ", ".join(str(r) for r in roots)
        raise InputError(
            f"{shown} is outside the folders this server may read ({places}). Move it into one "
            "of them, or add its folder to NEMO_MEDIA_ROOTS (or the client's roots)."
        )
    hidden = [part for part in real.relative_to(root).parts if part.startswith(".")]
    if hidden:
        raise InputError(
            f"{shown} is hidden (or inside the hidden folder {hidden[0]}). Hidden files are not "
            "uploaded; copy it to a normal folder first."
        )
    if info.st_size == 0:
        raise InputError(f"{shown} is empty (0 bytes). Check that it finished saving.")
    if info.st_size > manifest.max_upload_bytes:
        raise InputError(
            f"{shown} is {_mb(info.st_size)}, over the {manifest.max_upload_mb} MB limit of "
            f"{manifest.display_name}. Trim or compress it, then upload it again."
        )
    try:
        with real.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{shown} cannot be read ({exc.strerror}).") from None
    media = detect(head)
    accepted = ", ".join(manifest.accepted_types)
    if media is None:
        raise InputError(
            f"{shown} is not a photo, video or audio file that can be read (its content does not "
            f"match any supported format, whatever its name says). Accepted types: {accepted}."
        )
    if media.name not in manifest.accepted_types:
        raise InputError(
            f"{shown} is a {media.name.upper()} file, which {manifest.display_name} does not "
            f"take. Accepted types: {accepted}."
        )
    return LocalMedia(path=real, name=real.name, size=info.st_size, media=media)


def check_url(raw: str, manifest: Manifest) -> str:
    """A URL the backend may fetch, or an ``InputError``."""
    url = raw.strip()
    if not url:
        raise InputError("An empty URL was given. Pass an http(s) link to a media file.")
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES:
        scheme = f"{parts.scheme}://" if parts.scheme else "a link without http(s)://"
        raise InputError(
            f"{url[:80]} uses {scheme}, which cannot be fetched. Give an http:// or https:// "
            "link, or download the file and pass its local path."
        )
    if not parts.hostname:
        raise InputError(f"{url[:80]} has no host name. Give a full http(s) link.")
    if parts.username or parts.password:
        raise InputError(
            "Links with a user name or password in them are not sent; share a public link."
        )
    extension = Path(parts.path).suffix.lower().lstrip(".")
    known = {t.extension.lstrip(".") for t in TYPES.values()} | {"jpeg"}
    if extension in known:
        name = "jpg" if extension == "jpeg" else extension
        if name not in manifest.accepted_types:
            raise InputError(
                f"{Path(parts.path).name} is a {name.upper()} file, which "
                f"{manifest.display_name} does not take. Accepted types: "
                f"{', '.join(manifest.accepted_types)}."
            )
    return url


def convert_heic(media: LocalMedia, workdir: Path | None = None) -> LocalMedia:
    """A JPEG copy of a HEIC photo in a private temporary folder (blocking: run in a thread)."""
    try:
        import pillow_heif
        from PIL import Image
    except ImportError:
        raise InputError(
            f"{media.name} is a HEIC photo, and converting HEIC needs an optional extra. "
            "Install it with: pip install 'nemo-mcp[heic]' (or export the photo as JPEG)."
        ) from None
    pillow_heif.register_heif_opener()
    folder = Path(tempfile.mkdtemp(prefix="nemo-heic-", dir=workdir))
    target = folder / (Path(media.name).stem + ".jpg")
    try:
        with Image.open(media.path) as image:
            image.convert("RGB").save(target, "JPEG", quality=92)
    except Exception as exc:
        raise InputError(f"{media.name} could not be converted from HEIC: {exc}") from None
    return LocalMedia(target, target.name, target.stat().st_size, TYPES["jpg"])
