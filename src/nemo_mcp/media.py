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
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from nemo_mcp.errors import InputError
from nemo_mcp.manifests import Manifest
from nemo_media.mediatypes import HEAD_BYTES, TYPES, MediaType, detect

MAX_URL_LENGTH = 2048
URL_SCHEMES = ("http", "https")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LocalMedia(BaseModel):
    """A file that passed every check (kept on an upload job's record, so plain data)."""

    model_config = ConfigDict(frozen=True)

    path: Path
    name: str
    size: int
    type: str

    @property
    def media(self) -> MediaType:
        return TYPES[self.type]

    @property
    def needs_conversion(self) -> bool:
        return self.type == "heic"


def shown_name(raw: str) -> str:
    """A refused item's name as the user can read it: no control characters, not too long."""
    cleaned = CONTROL.sub("?", raw.strip())
    name = Path(cleaned).name or cleaned
    return name[:200] or "(empty)"


def path_of_uri(uri: str) -> Path | None:
    """A client root (``file:///Users/me/My%20Videos``) as a local path; None if not a file URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    return path if path.is_absolute() else None


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
    if CONTROL.search(text):
        raise InputError(
            f"{shown_name(text)} has a control character in its path, so it is not read. "
            "Check the path for stray line breaks or tabs."
        )
    if text.startswith("file:"):
        uri_path = path_of_uri(text)
        if uri_path is None:
            raise InputError(f"{shown_name(text)} is not a local file link. Pass a full path.")
        text = str(uri_path)
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
    except ValueError:
        raise InputError(f"{shown} is not a usable path.") from None
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
    return LocalMedia(path=real, name=real.name, size=info.st_size, type=media.name)


def check_url(raw: str, manifest: Manifest) -> str:
    """A URL the backend may fetch, or an ``InputError``."""
    url = raw.strip()
    if not url:
        raise InputError("An empty URL was given. Pass an http(s) link to a media file.")
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    if CONTROL.search(url) or " " in url:
        raise InputError(
            f"{shown_name(url)[:80]} has spaces or control characters in it; it is not a "
            "valid link. Copy the link again."
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise InputError(
            f"{shown_name(url)[:80]} is not a valid link. Copy the link again."
        ) from None
    if parts.scheme.lower() not in URL_SCHEMES:
        scheme = f"{parts.scheme}://" if parts.scheme else "a link without http(s)://"
        raise InputError(
            f"{url[:80]} uses {scheme}, which cannot be fetched. Give an http:// or https:// "
            "link, or download the file and pass its local path."
        )
    if not host:
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
    return LocalMedia(path=target, name=target.name, size=target.stat().st_size, type="jpg")
