"""Files from afar: the upload endpoint the tools take references from, and download links.

``POST /uploads?name=photo.jpg`` takes the raw bytes as the body, streamed to the user's upload
folder (a temporary name, renamed when complete) and cut off past the skill's size limit; the
answer's ``ref`` (``upload:<id>-<name>``) goes in ``upload_media``'s ``urls``. The file's type is
checked by content when the upload job reads it, as for any local file. ``GET /downloads/<name>``
serves a file of the caller's own export folder, the caller named by the bearer header or by
the link's signature (signing.py); another user's key finds nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from nemo_mcp.files import UNSAFE_NAME
from nemo_mcp.remote.retention import DISK_FULL, NoRoom, is_disk_full, room_left
from nemo_mcp.remote.signing import LinkRefused
from nemo_mcp.remote.users import Users

MB = 1024 * 1024
CHECK_EVERY = 8 * MB
REF = "upload:"


def upload_name(raw: str) -> str:
    """A stored name: a fresh id, then the user's name made plain (its extension kept)."""
    plain = UNSAFE_NAME.sub("-", Path(raw.replace("\\", "/")).name).strip(" .-")[:80] or "file"
    return f"{uuid.uuid4().hex[:12]}-{plain}"


def problem(status: int, words: str) -> JSONResponse:
    return JSONResponse({"error": words}, status_code=status)


async def receive_upload(request: Request, users: Users, user_key: str) -> Response:
    limit = users.max_upload_mb * MB
    declared = request.headers.get("content-length")
    size_given = int(declared) if declared is not None and declared.isdigit() else None
    if size_given is not None and size_given > limit:
        return problem(413, f"The file is larger than {users.max_upload_mb} MB.")
    name = upload_name(request.query_params.get("name", "file"))
    folder = users.data_dir / "uploads" / user_key
    reserve = users.settings.min_free_mb
    try:
        await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
        room_left(folder, size_given or 0, reserve)
    except NoRoom as full:
        return problem(507, str(full))
    except OSError as exc:
        if is_disk_full(exc):
            return problem(507, DISK_FULL)
        raise
    part = folder / f".{name}.part"
    size, checked = 0, 0
    try:
        async with await anyio.open_file(part, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise OverflowError
                if size_given is None and size - checked >= CHECK_EVERY:
                    checked = size
                    room_left(folder, CHECK_EVERY, reserve)  # a stream of unknown length
                await out.write(chunk)
    except OverflowError:
        _discard(part)
        return problem(413, f"The file is larger than {users.max_upload_mb} MB.")
    except ClientDisconnect:
        _discard(part)
        return problem(400, "The upload was cut off before it ended.")
    except NoRoom as full:
        _discard(part)
        return problem(507, str(full))
    except OSError as exc:
        _discard(part)
        if is_disk_full(exc):
            return problem(507, DISK_FULL)
        raise
    except BaseException:
        _discard(part)
        raise
    if size == 0:
        _discard(part)
        return problem(400, "The upload was empty.")
    os.replace(part, folder / name)
    return JSONResponse({"ref": REF + name, "name": name.partition("-")[2], "bytes": size})


def _discard(part: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)


async def send_download(request: Request, users: Users, user_key: str | None) -> Response:
    """``user_key`` from the bearer header, or None: then the link's signature names the user."""
    name = request.path_params["name"]
    if user_key is None:
        try:
            user_key = users.links.check(name, dict(request.query_params), time.time())
        except LinkRefused as refused:
            return problem(403, str(refused))
    folder = (users.data_dir / "exports" / user_key).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or name.startswith(".") or not path.is_file():
        return problem(404, "No such file among your exports.")
    return FileResponse(path, media_type="video/mp4", filename=path.name)
