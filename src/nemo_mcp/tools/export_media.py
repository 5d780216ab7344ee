"""What ``export_video`` gives besides its JSON: a link to the saved MP4, a contact sheet the
assistant can look at, and, for the player App only, where the video can be streamed from.

The JSON (text and structured) is complete on its own: a host without Apps or images loses
nothing it needs. All of this is made within what is left of the call's time, and anything that
can't be made in time is left out.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

import anyio
import pydantic_core
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from nemo_mcp.app import PLAYER_META, origin_of
from nemo_mcp.contact_sheet import contact_sheet
from nemo_mcp.errors import NemoError
from nemo_mcp.results import ExportResult
from nemo_mcp.tools.app import App

MEDIA_MAX_S = 10.0
"""The most the extras may add to the call (they take well under a second)."""


async def with_media(app: App, result: ExportResult, budget: float) -> CallToolResult:
    """The result, with its link, sheet and streamable URL as far as ``budget`` seconds allow."""
    sheet = video = None
    with anyio.move_on_after(min(MEDIA_MAX_S, budget)):
        video = await video_url(app, result)
        if app.settings.contact_sheet and result.path:
            sheet = await anyio.to_thread.run_sync(
                contact_sheet, Path(result.path), abandon_on_cancel=True
            )
    return export_content(result, sheet, video)


async def video_url(app: App, result: ExportResult) -> str | None:
    """Where the player can stream the export: its URL, or offline (where the result leaves the
    loopback URL out, since it dies with the process) the render's, asked of the backend."""
    if result.url and origin_of(result.url):
        return result.url
    if result.status != "done" or not result.render_id or not app.client.offline:
        return None
    with contextlib.suppress(NemoError):
        url = (await app.client.render_status(result.render_id)).url
        return url if url and origin_of(url) else None
    return None


def export_content(result: ExportResult, sheet: bytes | None, video: str | None) -> CallToolResult:
    """The result as JSON text and structured data, then the file link and the sheet."""
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
    meta: dict[str, Any] | None = {PLAYER_META: {"video_url": video}} if video else None
    return CallToolResult(
        content=content, structured_content=result.model_dump(mode="json"), _meta=meta
    )
