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
from nemo_mcp.results import ExportResult, no_title
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.boundary import Call, answer_in
from nemo_mcp.tools.media_results import with_media
from nemo_mcp.tools.outcomes import export_outcome, result_of
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import Pick

EXPORT_KEY = "export"
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
    started = anyio.current_time()
    result, runtime = await answer_in(
        ctx,
        ToolName.EXPORT_VIDEO,
        partial(start_export, output_dir=output_dir, download=download, new_copy=new_copy),
        Pick(skill),
    )
    return await with_media(
        runtime, result, started + runtime.settings.tool_wait - anyio.current_time()
    )


async def start_export(
    call: Call, output_dir: str | None, *, download: bool, new_copy: bool = False
) -> ExportResult:
    """Join the running export, hand out one that finished unseen, or start one."""
    runtime = call.runtime
    finished = await runtime.store.jobs(runtime.scope, kinds=["export"], unreported=True)
    if done := [j for j in finished if not j.active]:
        # An older export nobody saw is superseded by the latest one.
        await runtime.jobs.take_finished(runtime.scope, ids=[j.id for j in done[:-1]])
        return await export_outcome(call, done[-1])
    if output_dir and not runtime.deployment.takes_output_dir:
        raise InputError(REMOTE_FOLDER)
    folder = output_folder(output_dir, runtime.settings.output_dir)
    download = download or runtime.deployment.always_saves
    if download and not await runtime.jobs.active(runtime.scope, "export"):
        try:
            await anyio.to_thread.run_sync(
                check_folder, folder, ROOM_MARGIN, abandon_on_cancel=True
            )
        except FolderUnusable:
            if runtime.deployment.takes_output_dir:
                raise
            raise InputError(SERVER_FULL) from None  # the server's folder: not the user's to fix
    request = ExportRequest(output_dir=str(folder), download=download, new_copy=new_copy)
    record, _ = await runtime.jobs.submit(
        runtime.scope, "export", EXPORT_KEY, "export", request, serial=False,
        percent=await _continued(runtime),
    )  # fmt: skip
    record = await runtime.jobs.wait(record.id, call.remaining(), call.progress)
    return await export_outcome(call, record)


async def _continued(runtime: Runtime) -> float:
    """How far the last export got when it ended still rendering (its render is resumed), so
    the new export's progress starts there; 0 otherwise."""
    done = await runtime.store.jobs(runtime.scope, kinds=["export"], states=["done"])
    if done and (last := result_of(done[-1])) is not None and last.status == "running":
        return done[-1].percent
    return 0.0
