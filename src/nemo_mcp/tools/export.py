"""``export_video``: one export at a time; asking again joins it or hands out its result."""

from __future__ import annotations

import base64
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
import pydantic_core
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import Field

from nemo_mcp.contact_sheet import contact_sheet
from nemo_mcp.downloads import ROOM_MARGIN, check_folder
from nemo_mcp.errors import InputError
from nemo_mcp.flows.export import ExportRequest
from nemo_mcp.results import ExportResult, no_title
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.app import app_of
from nemo_mcp.tools.boundary import Call, answer
from nemo_mcp.tools.outcomes import export_outcome

EXPORT_KEY = "export"
SHEET_MAX_S = 10.0
"""The most a contact sheet may add to the call (it takes well under a second)."""


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
    settings = app_of(ctx).settings
    budget = min(SHEET_MAX_S, started + settings.tool_wait - anyio.current_time())
    sheet = None
    if settings.contact_sheet and result.path and budget > 0:
        with anyio.move_on_after(budget):
            sheet = await anyio.to_thread.run_sync(
                contact_sheet, Path(result.path), abandon_on_cancel=True
            )
    return export_content(result, sheet)


def export_content(result: ExportResult, sheet: bytes | None) -> CallToolResult:
    """The result as JSON text and structured data (complete for any host), plus a link to the
    saved MP4 and the contact sheet, for hosts and assistants that show or look at them."""
    text = pydantic_core.to_json(result, indent=2).decode()
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    if result.path:
        path = Path(result.path)
        content.append(
            ResourceLink(
                type="resource_link", uri=path.as_uri(), name=path.name, title="The exported video",
                mime_type="video/mp4", size=result.bytes,
            )
        )  # fmt: skip
    if sheet is not None:
        data = base64.b64encode(sheet).decode()
        content.append(ImageContent(type="image", data=data, mime_type="image/jpeg"))
    return CallToolResult(content=content, structured_content=result.model_dump(mode="json"))


async def start_export(call: Call, output_dir: str | None, *, download: bool) -> ExportResult:
    """Join the running export, hand out one that finished unseen, or start one."""
    app = call.app
    finished = await app.store.jobs(app.scope, kinds=["export"], unreported=True)
    if done := [j for j in finished if not j.active]:
        # An older export nobody saw is superseded by the latest one.
        await app.jobs.take_finished(app.scope, ids=[j.id for j in done[:-1]])
        return await export_outcome(call, done[-1])
    folder = output_folder(output_dir, app.settings.output_dir)
    if download and not await app.jobs.active(app.scope, "export"):
        await anyio.to_thread.run_sync(check_folder, folder, ROOM_MARGIN, abandon_on_cancel=True)
    request = ExportRequest(output_dir=str(folder), download=download)
    record, _ = await app.jobs.submit(
        app.scope, "export", EXPORT_KEY, "export", request, serial=False
    )
    record = await app.jobs.wait(record.id, call.remaining(), call.progress)
    return await export_outcome(call, record)
