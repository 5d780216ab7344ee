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
from nemo_mcp.errors import InputError
from nemo_mcp.flows.export import ExportRequest
from nemo_mcp.results import ExportResult, no_title
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.boundary import Call, answer
from nemo_mcp.tools.media_results import with_media
from nemo_mcp.tools.outcomes import export_outcome
from nemo_mcp.tools.runtime import runtime_of

EXPORT_KEY = "export"
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
) -> Annotated[CallToolResult, ExportResult]:
    started = anyio.current_time()
    result = await answer(
        ctx, ToolName.EXPORT_VIDEO, partial(start_export, output_dir=output_dir, download=download)
    )
    runtime = runtime_of(ctx)
    return await with_media(
        runtime, result, started + runtime.settings.tool_wait - anyio.current_time()
    )


async def start_export(call: Call, output_dir: str | None, *, download: bool) -> ExportResult:
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
        await anyio.to_thread.run_sync(check_folder, folder, ROOM_MARGIN, abandon_on_cancel=True)
    request = ExportRequest(output_dir=str(folder), download=download)
    record, _ = await runtime.jobs.submit(
        runtime.scope, "export", EXPORT_KEY, "export", request, serial=False
    )
    record = await runtime.jobs.wait(record.id, call.remaining(), call.progress)
    return await export_outcome(call, record)
