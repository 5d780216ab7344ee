"""The one place the tools, prompts and resources are registered: names, titles, descriptions
and hints. What a call does, and how it is guarded, is in the tool modules and ``tools.edge``.

``get_timeline`` and ``export_video`` are bound to the player App (``nemo_mcp.player``) through the
SDK's Apps extension, which must exist before the server does; the rest go on the server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping

from mcp.server.apps import Apps
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from nemo_mcp.manifests import Manifest
from nemo_mcp.player import PLAYER_URI, player_resource
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.credits import check_credits
from nemo_mcp.tools.edge import read_resource
from nemo_mcp.tools.edit import send_edit
from nemo_mcp.tools.export import export_video
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import with_skill_argument
from nemo_mcp.tools.timeline import get_timeline, timeline_document
from nemo_mcp.tools.upload import upload_media

# Honest hints, spelled out even where they equal the spec's defaults: all five reach the
# backend (open world), none deletes anything the user has, the two readers change nothing.
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
TIMELINE_URI = "nemo://timeline/current"
PROMPT_NAME_CHARS = 60


def prompt_name(example: str) -> str:
    """A prompt's name from its example: a slug cut at a word boundary, never mid-word."""
    words = re.sub(r"[^a-z0-9]+", " ", example.lower()).split()
    name = ""
    for word in words:
        candidate = f"{name}-{word}" if name else word
        if len(candidate) > PROMPT_NAME_CHARS:
            break
        name = candidate
    if name:
        return name
    # No Latin letters or digits (e.g. a Chinese example): a stable name of its own.
    return "example-" + hashlib.sha1(example.encode()).hexdigest()[:8]


def player(
    manifests: Mapping[str, Manifest], texts: ToolTexts, media_url: Callable[[], str | None]
) -> Apps:
    """The Apps extension: the player page and the two tools whose results it shows.

    ``media_url`` gives the backend's URL while the server runs (the page may load videos there)."""
    apps = Apps()
    tools = (
        (get_timeline, ToolName.GET_TIMELINE, "Show the timeline", texts.get_timeline, READS),
        (
            export_video,
            ToolName.EXPORT_VIDEO,
            "Export the video as MP4",
            texts.export_video,
            WRITES,
        ),
    )
    for fn, tool, title, description, hints in tools:
        apps.tool(
            resource_uri=PLAYER_URI,
            name=tool.value,
            title=title,
            description=description,
            annotations=hints,
        )(with_skill_argument(fn, manifests, full=False))
    apps.add_resource(player_resource(media_url))
    return apps


def register(
    mcp: MCPServer[Runtime],
    manifests: Mapping[str, Manifest],
    texts: ToolTexts,
    runtime: Callable[[], Runtime],
) -> None:
    """Add the other three tools, one prompt per example of every skill, and the timeline
    resource to ``mcp``.

    ``runtime`` gives the running server's state to the resource, which gets no context."""
    name = server_title(manifests)
    tools = (
        (upload_media, ToolName.UPLOAD_MEDIA, f"Upload media to {name}", texts.upload, WRITES),
        (send_edit, ToolName.SEND_EDIT, f"Ask {name} for a change", texts.send_edit, WRITES),
        (check_credits, ToolName.CHECK_CREDITS, "Check credits", texts.check_credits, READS),
    )
    for fn, tool, title, description, hints in tools:
        full = tool is ToolName.SEND_EDIT
        mcp.add_tool(
            with_skill_argument(fn, manifests, full=full), name=tool.value, title=title,
            description=description, annotations=hints,
        )  # fmt: skip

    named: set[str] = set()
    for manifest in manifests.values():
        for example in manifest.examples:
            if (prompt := prompt_name(example)) not in named:
                named.add(prompt)
                _add_prompt(mcp, example, manifest, many=len(manifests) > 1)

    @mcp.resource(
        TIMELINE_URI,
        name="timeline",
        title="Current timeline",
        description="The project's timeline: the one-line summary and the draft JSON.",
        mime_type="application/json",
    )
    async def timeline_resource() -> str:
        return await read_resource(runtime, timeline_document)


def server_title(manifests: Mapping[str, Manifest]) -> str:
    """The skill's display name, or the product's for a server of every skill."""
    if len(manifests) == 1:
        return next(iter(manifests.values())).display_name
    return "NemoVideo"


def _add_prompt(mcp: MCPServer[Runtime], example: str, manifest: Manifest, *, many: bool) -> None:
    def prompt() -> str:
        return example

    where = f" ({manifest.display_name})" if many else ""
    mcp.prompt(
        name=prompt_name(example), title=example, description=f'Try saying: "{example}"{where}'
    )(prompt)
