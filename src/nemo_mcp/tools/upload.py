"""``upload_media``: check every item now, send the good ones in an upload job."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from nemo_mcp.deployment import Deployment
from nemo_mcp.errors import InputError
from nemo_mcp.flows.kinds import UPLOAD
from nemo_mcp.jobs import elapsed_words
from nemo_mcp.media import allowed_roots
from nemo_mcp.results import RejectedItem, UploadResult, no_title
from nemo_mcp.skill_choice import MediaMix, media_types
from nemo_mcp.store import JobRecord
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.edge import Refusal, ToolCall, refuse_a_lone_failure, run_tool
from nemo_mcp.tools.roots import client_roots
from nemo_mcp.tools.skills import Pick
from nemo_mcp.uploads import check_items

REMOTE_PATHS = (
    "This server runs remotely and cannot read files on your computer, so `paths` are not "
    "accepted here. Pass http(s) links in `urls`, or first send the file to this server's "
    "/uploads address (with your token) and pass the reference it answers (upload:...) in `urls`."
)
UPLOAD_REF = "upload:"
NOTHING = "Nothing to upload: pass full file paths in `paths` or http(s) links in `urls`."
UNKNOWN_REF = (
    "This is not one of your uploads, or its file was removed since (uploads are kept for a "
    "week). Send the file to this server's /uploads address again and pass the new reference."
)
UPLOAD_ID = re.compile(r"^[0-9a-f]{12}-")
"""The id ``/uploads`` puts before a file's name, so two files of the same name never meet."""


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
    skill: str | None = None,
) -> Annotated[CallToolResult, UploadResult]:
    media = MediaMix.of(media_types([p.split("?")[0] for p in [*paths, *urls]]))
    body = partial(_upload, paths=paths, urls=urls)
    return await run_tool(ctx, ToolName.UPLOAD_MEDIA, body, pick=Pick(skill, "", media))


async def _upload(call: ToolCall, *, paths: list[str], urls: list[str]) -> UploadResult:
    runtime = call.runtime
    if not paths and not urls:
        raise InputError(NOTHING)
    deployment = runtime.deployment
    if not deployment.reads_local_paths:
        if paths:
            raise InputError(REMOTE_PATHS)
        paths, unknown = shared_files([u for u in urls if is_ref(u)], deployment)
        urls = [u for u in urls if not is_ref(u)]
        roots = list(runtime.settings.media_roots)
    else:
        unknown = []
        roots = allowed_roots(
            await client_roots(call.ctx) if paths else None, runtime.settings.media_roots
        )
    request, refused = check_items(paths, urls, roots, runtime.manifest)
    if not deployment.reads_local_paths:  # the names the user gave, not the server's
        request.files = [f.model_copy(update={"name": given_name(f.name)}) for f in request.files]
        refused = unknown + [r.model_copy(update={"name": given_name(r.name)}) for r in refused]
    if not request.files and not request.urls:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in refused)
        raise InputError(f"Nothing was uploaded. {reasons}")
    record, _ = await runtime.jobs.submit(runtime.scope, UPLOAD, request)
    record = await runtime.jobs.wait(record.id, call.remaining(), call.progress)
    return await upload_reply(call, record, await runtime.jobs.tell(record), refused)


def is_ref(item: str) -> bool:
    """A reference the shared server's upload endpoint answered with."""
    return item.startswith(UPLOAD_REF)


async def upload_reply(
    call: ToolCall, record: JobRecord, told: list[JobRecord], refused: list[RejectedItem]
) -> UploadResult:
    """The upload to tell, with what was refused before it was sent, else where it is."""
    if told:
        refuse_a_lone_failure(told)
        result = UPLOAD.result_of(told[-1])
        if result is not None:
            rejected = refused + result.rejected
            if not result.uploaded:
                reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected)
                raise Refusal(f"Nothing was uploaded. {reasons}")
            more = f" {len(rejected)} refused (see rejected)." if rejected else ""
            return result.model_copy(
                update={
                    "job_id": told[-1].id,
                    "rejected": rejected,
                    "reply": call.runtime.client.with_notices(result.reply + more),
                }
            )
    _, message = call.runtime.jobs.progress(record)
    return UploadResult(
        status="running",
        job_id=record.id,
        rejected=refused,
        reply=f"Still uploading ({elapsed_words(record.elapsed)} so far): {message.rstrip('.')}. "
        "It goes on in the background; call upload_media again with the same files (it joins "
        "this upload, nothing is sent twice) or get_timeline to see it finish.",
    )


def given_name(stored: str) -> str:
    """An upload's name as its user gave it, without the id ``/uploads`` put before it."""
    return UPLOAD_ID.sub("", stored) or stored


def shared_files(refs: list[str], deployment: Deployment) -> tuple[list[str], list[RejectedItem]]:
    """The files the user's references name in their own upload folder, and the references
    that name none there (never saying where the server looked)."""
    paths, unknown = [], []
    for ref in refs:
        stored = ref[len(UPLOAD_REF) :].strip()
        path = deployment.uploaded(stored)
        plain = stored and "/" not in stored and "\\" not in stored and not stored.startswith(".")
        if plain and path is not None and path.is_file():
            paths.append(str(path))
        else:
            unknown.append(RejectedItem(name=given_name(stored)[:200] or ref, reason=UNKNOWN_REF))
    return paths, unknown
