"""The MCP server: five tools, prompts and a timeline resource, a thin adapter over the core.

Its lifespan owns the one backend client and the task group in which long work runs (see
``nemo_mcp.jobs``), and, with ``--local``, the embedded local backend. Every tool turns errors
into plain words through ``nemo_mcp.errors.user_message`` and never lets a traceback out.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import ToolAnnotations
from pydantic import Field

from nemo_mcp import __version__, actions, tool_text
from nemo_mcp.actions import App, plain_errors
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import InputError
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import (
    CreditsResult,
    EditResult,
    ExportResult,
    TimelineResult,
    TrackInfo,
    UploadResult,
    no_title,
)
from nemo_mcp.routing import Intent, route
from nemo_mcp.settings import Settings
from nemo_mcp.timeline import is_ready, parse_draft, summarize
from nemo_mcp.uploads import Uploader

log = logging.getLogger(__name__)

# Honest hints, spelled out even where they equal the spec's defaults: all five reach the
# backend (open world), none deletes anything the user has, the two readers change nothing.
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
LOCAL_POLL_INTERVAL = 1.0
TIMELINE_URI = "nemo://timeline/current"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "example"


def create_server(
    manifest: Manifest,
    settings: Settings,
    *,
    local_data_dir: Path | None = None,
) -> MCPServer[App]:
    """The server for one skill; ``local_data_dir`` starts the embedded backend in-process."""
    running: list[App] = []  # the lifespan's App, for handlers that get no Context

    @asynccontextmanager
    async def lifespan(server: MCPServer[App]) -> AsyncIterator[App]:
        async with AsyncExitStack() as stack:
            active = settings
            if local_data_dir is not None:
                from nemo_mcp.local_backend import LocalBackend, LocalBackendConfig

                config = LocalBackendConfig(data_dir=local_data_dir)
                if settings.local_canvas:
                    config = replace(config, canvas=settings.local_canvas)
                backend = await stack.enter_async_context(LocalBackend(config))
                active = replace(
                    settings,
                    api_url=backend.url,
                    poll_interval=min(settings.poll_interval, LOCAL_POLL_INTERVAL),
                )
                log.info("embedded local backend at %s", backend.url)
            client = await stack.enter_async_context(BackendClient(active, manifest))
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)

            def describe(exc: BaseException) -> str:
                return app.describe(exc)

            app = App(active, manifest, client, JobManager(task_group, describe))
            running.append(app)
            try:
                yield app
            finally:
                running.remove(app)

    texts = tool_text.ToolTexts.for_manifest(manifest, settings)
    mcp: MCPServer[App] = MCPServer(
        name="nemo-mcp",
        title=manifest.display_name,
        version=__version__,
        instructions=texts.instructions,
        lifespan=lifespan,
    )

    @mcp.tool(
        name="upload_media",
        title=f"Upload media to {manifest.display_name}",
        description=texts.upload,
        annotations=WRITES,
    )
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
        app = actions.app_of(ctx)
        with plain_errors(app):
            if not paths and not urls:
                raise InputError(
                    "Nothing to upload: pass full file paths in `paths` or http(s) links in `urls`."
                )
            roots = await actions.client_roots(ctx) if paths else None
            uploader = Uploader(app.client, app.manifest, app.settings.media_roots, roots)
            result = await uploader.upload(paths, urls, actions.relay(ctx))
            if not result.uploaded:
                reasons = "; ".join(f"{r.name}: {r.reason}" for r in result.rejected)
                raise InputError(f"Nothing was uploaded. {reasons}")
            return result

    @mcp.tool(
        name="send_edit",
        title=f"Ask {manifest.display_name} for a change",
        description=texts.send_edit,
        annotations=WRITES,
    )
    async def send_edit(
        ctx: Context,
        message: Annotated[str, Field(description="the user's words", json_schema_extra=no_title)],
    ) -> EditResult:
        app = actions.app_of(ctx)
        with plain_errors(app):
            text = message.strip()
            if not text:
                raise InputError(
                    "The message is empty. Say what to make or change, for example: "
                    f"{app.manifest.examples[0]!r}."
                )
            intent = route(text)
            if intent is Intent.EXPORT:
                result = await actions.export(app, ctx, None, True)
                return EditResult(
                    status=result.status, intent=intent.value, reply=result.reply,
                    job_id=result.job_id,
                )  # fmt: skip
            if intent is Intent.CREDITS:
                credits = await app.client.credits()
                reply = (
                    f"{credits.available} credits available ({credits.frozen} reserved by running "
                    f"work, {credits.total} in all)."
                )
                return EditResult(status="done", intent=intent.value, reply=reply)
            if intent is Intent.STATE:
                return await actions.status(app, ctx)
            if intent is Intent.UPLOAD:
                return EditResult(
                    status="done",
                    intent=intent.value,
                    reply="To upload, call upload_media with full file paths (or http(s) "
                    "links), then describe the change with send_edit.",
                )
            return await actions.edit(app, ctx, text)

    @mcp.tool(
        name="get_timeline",
        title="Show the timeline",
        description=texts.get_timeline,
        annotations=READS,
    )
    async def get_timeline(ctx: Context) -> TimelineResult:
        app = actions.app_of(ctx)
        with plain_errors(app):
            timeline = parse_draft(await app.client.state())
            jobs = app.jobs.outstanding()
            infos = [actions.job_info(app, job) for job in jobs]
            for job in jobs:
                if not job.active:
                    job.reported = True
            tracks = [
                TrackInfo(
                    index=t.index, kind=t.kind, name=t.name, label=t.label or "",
                    start_ms=t.start_ms, end_ms=t.end_ms, volume_pct=t.volume_pct,
                    segments=len(t.segments),
                )
                for t in timeline.tracks
            ]  # fmt: skip
            return TimelineResult(
                summary=actions.with_notices(app, summarize(timeline)),
                ready=is_ready(timeline),
                duration_ms=timeline.duration_ms,
                tracks=tracks,
                jobs=infos,
            )

    @mcp.tool(
        name="export_video",
        title="Export the video as MP4",
        description=texts.export_video,
        annotations=WRITES,
    )
    async def export_video(
        ctx: Context,
        output_dir: Annotated[
            str | None, Field(description="folder for the MP4", json_schema_extra=no_title)
        ] = None,
        download: Annotated[
            bool, Field(description="save it on this computer", json_schema_extra=no_title)
        ] = True,
    ) -> ExportResult:
        app = actions.app_of(ctx)
        with plain_errors(app):
            return await actions.export(app, ctx, output_dir, download)

    @mcp.tool(
        name="check_credits",
        title="Check credits",
        description=texts.check_credits,
        annotations=READS,
    )
    async def check_credits(ctx: Context) -> CreditsResult:
        app = actions.app_of(ctx)
        with plain_errors(app):
            credits = await app.client.credits()
            return CreditsResult(
                available=credits.available, frozen=credits.frozen, total=credits.total
            )

    for example in manifest.examples:
        _add_example_prompt(mcp, example)

    @mcp.resource(
        TIMELINE_URI,
        name="timeline",
        title="Current timeline",
        description="The project's timeline: the one-line summary and the draft JSON.",
        mime_type="application/json",
    )
    async def timeline_resource() -> str:
        if not running:
            raise ResourceError("The server is still starting; try again in a moment.")
        app = running[-1]
        try:
            state = await app.client.state()
        except Exception as exc:
            raise ResourceError(app.describe(exc)) from None
        timeline = parse_draft(state)
        return json.dumps(
            {"summary": summarize(timeline), "ready": is_ready(timeline),
             "draft": state.get("draft")},
            ensure_ascii=False,
        )  # fmt: skip

    return mcp


def _add_example_prompt(mcp: MCPServer[App], example: str) -> None:
    def prompt() -> str:
        return example

    mcp.prompt(name=_slug(example), title=example[:80], description=f'Try saying: "{example}"')(
        prompt
    )
