"""What ``export_video`` and ``get_timeline`` give besides their JSON: a link to the saved MP4,
a contact sheet the assistant can look at (of the export; offline, ``get_timeline`` also has
one of the draft as it is, made by the embedded backend), and, for the player App only (in
the result's ``_meta``), where finished videos can be streamed from.

The JSON (text and structured) is complete on its own: a host without Apps or images loses
nothing it needs. All of this is made within what is left of the call's time, and anything that
can't be made in time is left out.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import anyio
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from nemo_mcp.contact_sheet import contact_sheet
from nemo_mcp.errors import NemoError
from nemo_mcp.flows.kinds import EXPORT
from nemo_mcp.player import origin_of
from nemo_mcp.results import ExportResult, JobInfo, TimelineResult
from nemo_mcp.tools.edge import ToolCall, json_result
from nemo_mcp.tools.runtime import Runtime

MEDIA_MAX_S = 10.0
"""The most the extras may add to the call (they take well under a second)."""


async def export_extras(call: ToolCall, result: ExportResult) -> CallToolResult:
    """``export_video``'s result, with its link, sheet and streamable URL as far as the call's
    time allows."""
    runtime = call.runtime
    sheet = video = None
    with anyio.move_on_after(min(MEDIA_MAX_S, call.left())):
        video = await video_url(runtime, result)
        if runtime.settings.contact_sheet and result.path:
            sheet = await anyio.to_thread.run_sync(
                contact_sheet, Path(result.path), abandon_on_cancel=True
            )
    return export_content(result, sheet, video)


async def video_url(runtime: Runtime, result: ExportResult) -> str | None:
    """Where the player can stream the export: its URL, or offline (where the result leaves the
    loopback URL out, since it dies with the process) the render's, asked of the backend."""
    if result.url and origin_of(result.url):
        return result.url
    if result.status != "done" or not result.render_id or runtime.deployment.backend_urls_last:
        return None
    with contextlib.suppress(NemoError):
        url = (await runtime.client.render_status(result.render_id)).url
        return url if url and origin_of(url) else None
    return None


async def timeline_extras(call: ToolCall, result: TimelineResult) -> CallToolResult:
    """``get_timeline``'s result, with the streamable video of each finished export for the
    player and, offline, the picture of the draft, as far as the call's time allows."""
    videos: dict[str, str] = {}
    picture: list[ContentBlock] = []
    with anyio.move_on_after(min(MEDIA_MAX_S, call.left())):
        videos = await finished_videos(call.runtime, result.jobs)
        if result.tracks:
            picture = await draft_picture(call.runtime)
    return json_result(result, picture, player={"videos": videos} if videos else None)


async def finished_videos(runtime: Runtime, jobs: list[JobInfo]) -> dict[str, str]:
    """The streamable video of each finished export among ``jobs``, by job id."""
    videos: dict[str, str] = {}
    for job in jobs:
        if job.kind != "export" or job.status != "done":
            continue
        record = await runtime.store.job(job.job_id)
        result = EXPORT.result_of(record) if record else None
        if result is not None and (url := await video_url(runtime, result)):
            videos[job.job_id] = url
    return videos


DRAFT_PICTURE_WORDS = (
    "A picture of the draft as it is now, not an export: the middle frame of each segment, "
    "with the titles shown then."
)


async def draft_picture(runtime: Runtime) -> list[ContentBlock]:
    """Offline, the draft's contact sheet and a line saying what it is; nothing elsewhere (the
    cloud has no such picture) or when it can't be had."""
    if not runtime.settings.contact_sheet:
        return []
    with contextlib.suppress(NemoError):
        if sheet := await runtime.client.draft_picture():
            data = base64.b64encode(sheet).decode()
            return [
                TextContent(type="text", text=DRAFT_PICTURE_WORDS),
                ImageContent(type="image", data=data, mime_type="image/jpeg"),
            ]
    return []


def export_content(result: ExportResult, sheet: bytes | None, video: str | None) -> CallToolResult:
    """The result as JSON, then the file link and the sheet; the video's URL for the App."""
    content: list[ContentBlock] = []
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
    return json_result(result, content, {"video_url": video} if video else None)
