"""``export_video``: one export at a time; asking again joins it or hands out its result."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from nemo_mcp.downloads import ROOM_MARGIN, check_folder
from nemo_mcp.errors import FolderUnusable, InputError
from nemo_mcp.flows.export import ExportRequest
from nemo_mcp.flows.kinds import EXPORT
from nemo_mcp.jobs import elapsed_words
from nemo_mcp.results import ExportResult, no_title
from nemo_mcp.store import JobRecord
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tool_text import ASK_AGAIN_S
from nemo_mcp.tools.edge import ToolCall, refuse_a_lone_failure, run_tool
from nemo_mcp.tools.extras import export_extras
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import Pick

SERVER_FULL = (
    "The server cannot store the video right now (its disk is full or its storage refused the "
    "file). Try export_video again later; nothing was rendered."
)
REMOTE_FOLDER = (
    "This server runs remotely and cannot write to your computer, so `output_dir` is not "
    "accepted here: the export answers with a download link instead."
)


def output_folder(raw: str | None, default: Path) -> Path:
    """The folder the user named (full path), or the configured one."""
    if raw is None or not raw.strip():
        return default
    folder = Path(raw.strip()).expanduser()
    if not folder.is_absolute():
        raise InputError(f"{raw.strip()} is a relative path. Give the full path of a folder.")
    return folder


async def export_video(
    ctx: Context,
    output_dir: Annotated[
        str | None, Field(description="folder for the MP4", json_schema_extra=no_title)
    ] = None,
    download: Annotated[
        bool, Field(description="save it on this computer", json_schema_extra=no_title)
    ] = True,
    new_copy: Annotated[
        bool, Field(description="another file even if unchanged", json_schema_extra=no_title)
    ] = False,
    skill: str | None = None,
) -> Annotated[CallToolResult, ExportResult]:
    body = partial(start_export, output_dir=output_dir, download=download, new_copy=new_copy)
    return await run_tool(ctx, ToolName.EXPORT_VIDEO, body, export_extras, pick=Pick(skill))


async def start_export(
    call: ToolCall, output_dir: str | None, *, download: bool, new_copy: bool = False
) -> ExportResult:
    """Join the running export, hand out one that finished unseen, or start one."""
    runtime, jobs = call.runtime, call.runtime.jobs
    if told := await jobs.news(runtime.scope, EXPORT.kind):
        # An export that finished unseen is handed out (an older one is superseded by it).
        return await export_reply(call, told[-1], told)
    if output_dir and not runtime.deployment.takes_output_dir:
        raise InputError(REMOTE_FOLDER)
    folder = output_folder(output_dir, runtime.settings.output_dir)
    download = download or runtime.deployment.always_saves
    if download and not await jobs.active(runtime.scope, EXPORT.kind):
        try:
            await anyio.to_thread.run_sync(
                check_folder, folder, ROOM_MARGIN, abandon_on_cancel=True
            )
        except FolderUnusable:
            if runtime.deployment.takes_output_dir:
                raise
            raise InputError(SERVER_FULL) from None  # the server's folder: not the user's to fix
    request = ExportRequest(output_dir=str(folder), download=download, new_copy=new_copy)
    record, _ = await jobs.submit(runtime.scope, EXPORT, request, percent=await _continued(runtime))
    record = await jobs.wait(record.id, call.remaining(), call.progress)
    return await export_reply(call, record, await jobs.tell(record))


async def export_reply(call: ToolCall, record: JobRecord, told: list[JobRecord]) -> ExportResult:
    """The export to tell (the latest), else where ``record`` is."""
    if told:
        refuse_a_lone_failure(told[-1:])
        result = EXPORT.result_of(told[-1])
        if result is not None:
            return as_link(call.runtime, result).model_copy(update={"job_id": told[-1].id})
    _, message = call.runtime.jobs.progress(record)
    return ExportResult(
        status="running",
        job_id=record.id,
        reply=f"Still exporting ({elapsed_words(record.elapsed)} so far): {message.rstrip('.')}. "
        f"It goes on in the background; call export_video again in about {ASK_AGAIN_S} seconds "
        "to get the file.",
    )


def as_link(runtime: Runtime, result: ExportResult) -> ExportResult:
    """On a shared server the file is not the user's to open: they get a download link."""
    link = runtime.deployment.shared_file(result.path) if result.path else None
    if link is None:
        return result
    return result.model_copy(
        update={"path": None, "url": link, "reply": f"The video is ready: {link}"}
    )


async def _continued(runtime: Runtime) -> float:
    """How far the last export got when it ended still rendering (this one resumes its render),
    so its progress starts there; 0 otherwise."""
    done = await runtime.store.jobs(runtime.scope, kinds=["export"], states=["done"])
    if done and (last := EXPORT.result_of(done[-1])) is not None and last.status == "running":
        return done[-1].percent
    return 0.0
