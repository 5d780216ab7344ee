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
from nemo_mcp.remote.signing import LinkRefused
from nemo_mcp.remote.users import Users

MB = 1024 * 1024
REF = "upload:"


def upload_name(raw: str) -> str:
    """A stored name: a fresh id, then the user's name made plain (its extension kept)."""
    plain = UNSAFE_NAME.sub("-", Path(raw.replace("\\", "/")).name).strip(" .-")[:80] or "file"
    return f"{uuid.uuid4().hex[:12]}-{plain}"


def problem(status: int, words: str) -> JSONResponse:
    return JSONResponse({"error": words}, status_code=status)


async def receive_upload(request: Request, users: Users, user_key: str) -> Response:
    limit = users.manifest.max_upload_mb * MB
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return problem(413, f"The file is larger than {users.manifest.max_upload_mb} MB.")
    name = upload_name(request.query_params.get("name", "file"))
    folder = users.data_dir / "uploads" / user_key
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    size = 0
    try:
        async with await anyio.open_file(part, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise OverflowError
                await out.write(chunk)
    except OverflowError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        return problem(413, f"The file is larger than {users.manifest.max_upload_mb} MB.")
    except ClientDisconnect:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        return problem(400, "The upload was cut off before it ended.")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
    if size == 0:
        os.unlink(part)
        return problem(400, "The upload was empty.")
    os.replace(part, folder / name)
    return JSONResponse({"ref": REF + name, "name": name.partition("-")[2], "bytes": size})


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
