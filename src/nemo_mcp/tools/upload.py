"""``upload_media``: check every item now, send the good ones in an upload job."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.errors import InputError
from nemo_mcp.media import allowed_roots
from nemo_mcp.results import UploadResult, no_title
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.boundary import Call, answer
from nemo_mcp.tools.outcomes import upload_outcome
from nemo_mcp.tools.roots import client_roots
from nemo_mcp.uploads import check_items

REMOTE_PATHS = (
    "This server runs remotely and cannot read files on your computer, so `paths` are not "
    "accepted here. Pass http(s) links in `urls`, or first send the file to this server's "
    "/uploads address (with your token) and pass the reference it answers (upload:...) in `urls`."
)
UPLOAD_REF = "upload:"
NOTHING = "Nothing to upload: pass full file paths in `paths` or http(s) links in `urls`."


async def upload_media(
    ctx: Context,
    paths: Annotated[
        list[str],
        Field(default_factory=list, description="full file paths", json_schema_extra=no_title),
    ],
    urls: Annotated[
        list[str],
        Field(default_factory=list, description="http(s) links", json_schema_extra=no_title),
    ],
) -> UploadResult:
    return await answer(ctx, ToolName.UPLOAD_MEDIA, partial(_upload, paths=paths, urls=urls))


async def _upload(call: Call, *, paths: list[str], urls: list[str]) -> UploadResult:
    runtime = call.runtime
    if not paths and not urls:
        raise InputError(NOTHING)
    deployment = runtime.deployment
    if not deployment.reads_local_paths:
        if paths:
            raise InputError(REMOTE_PATHS)
        paths = [str(deployment.uploaded(u[len(UPLOAD_REF) :])) for u in urls if is_ref(u)]
        urls = [u for u in urls if not is_ref(u)]
        roots = list(runtime.settings.media_roots)
    else:
        roots = allowed_roots(
            await client_roots(call.ctx) if paths else None, runtime.settings.media_roots
        )
    request, refused = check_items(paths, urls, roots, runtime.manifest)
    if not request.files and not request.urls:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in refused)
        raise InputError(f"Nothing was uploaded. {reasons}")
    label = ", ".join([m.name for m in request.files] + request.urls)
    record, _ = await runtime.jobs.submit(
        runtime.scope, "upload", request.key, label, request, serial=False
    )
    record = await runtime.jobs.wait(record.id, call.remaining(), call.progress)
    return await upload_outcome(call, record, refused)


def is_ref(item: str) -> bool:
    """A reference the shared server's upload endpoint answered with."""
    return item.startswith(UPLOAD_REF)
