"""The MCP server: five tools, prompts and a timeline resource, a thin adapter over the core.

Its lifespan owns the one backend client and the task group in which long work runs (see
``nemo_mcp.jobs``), and, with ``--local``, the embedded local backend. Every tool turns errors
into plain words through ``nemo_mcp.errors.user_message`` and never lets a traceback out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from nemo_mcp import __version__, tool_text
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import Hints, InputError, NemoError, user_message
from nemo_mcp.jobs import Job, JobManager, elapsed_words
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import (
    CreditsResult,
    EditResult,
    ExportResult,
    JobInfo,
    TimelineResult,
    TrackInfo,
    UploadResult,
    no_title,
)
from nemo_mcp.routing import Intent, route
from nemo_mcp.settings import Settings
from nemo_mcp.timeline import is_ready, parse_draft, summarize
from nemo_mcp.uploads import Uploader
from nemo_mcp.workflows import EditFlow, ExportFlow

log = logging.getLogger(__name__)

# Honest hints, spelled out even where they equal the spec's defaults: all five reach the
# backend (open world), none deletes anything the user has, the two readers change nothing.
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
LOCAL_POLL_INTERVAL = 1.0
ROOTS_TIMEOUT = 5.0
TIMELINE_URI = "nemo://timeline/current"


@dataclass
class App:
    """What the lifespan hands to every tool call."""

    settings: Settings
    manifest: Manifest
    client: BackendClient
    jobs: JobManager

    def hints(self) -> Hints:
        return Hints(
            anonymous=self.client.anonymous,
            accepted_types=self.manifest.accepted_types,
            max_upload_mb=self.manifest.max_upload_mb,
            register_link=self.client.register_link(),
            retry_after=self.settings.retry_after,
        )

    def describe(self, exc: BaseException) -> str:
        if not isinstance(exc, NemoError):
            log.error("unexpected error", exc_info=exc)
        return user_message(exc, self.hints())


@contextlib.contextmanager
def plain_errors(app: App) -> Iterator[None]:
    """Every failure leaves a tool as a ``ToolError`` in plain words, never a traceback."""
    try:
        yield
    except ToolError:
        raise
    except Exception as exc:
        raise ToolError(app.describe(exc)) from None


def _app(ctx: Context) -> App:
    return cast(App, ctx.request_context.lifespan_context)


def _relay(ctx: Context) -> Any:
    async def relay(progress: float, total: float, message: str) -> None:
        await ctx.report_progress(progress, total, message)

    return relay


def _with_notices(app: App, reply: str) -> str:
    notices = app.client.take_notices()
    return "\n".join([*notices, reply]) if notices else reply


def _job_info(app: App, job: Job) -> JobInfo:
    message = job.message
    if job.status == "done" and isinstance(job.result, EditResult | ExportResult):
        message = job.result.reply
    elif job.status == "failed":
        message = job.error or "It failed."
    elif job.status == "queued":
        message = f"Queued (place {app.jobs.queue_position(job)})."
    return JobInfo(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        what=job.label[:120],
        elapsed_s=int(job.elapsed),
        message=message,
    )


async def _client_roots(ctx: Context) -> list[Path] | None:
    """The client's MCP roots, when it declares the capability and answers in time."""
    session = ctx.session
    caps = session.client_capabilities
    if caps is None or caps.roots is None or not session.can_send_request:
        return None
    try:
        with anyio.fail_after(ROOTS_TIMEOUT):
            result = await session.list_roots()
    except Exception:
        log.info("the client declared roots but did not list them; using the configured folders")
        return None
    roots = [Path(str(r.uri).removeprefix("file://")) for r in result.roots]
    return [r for r in roots if str(r).startswith("/")] or None


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
        app = _app(ctx)
        with plain_errors(app):
            if not paths and not urls:
                raise InputError(
                    "Nothing to upload: pass full file paths in `paths` or http(s) links in `urls`."
                )
            roots = await _client_roots(ctx) if paths else None
            uploader = Uploader(app.client, app.manifest, app.settings.media_roots, roots)
            result = await uploader.upload(paths, urls, _relay(ctx))
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
        app = _app(ctx)
        with plain_errors(app):
            text = message.strip()
            if not text:
                raise InputError(
                    "The message is empty. Say what to make or change, for example: "
                    f"{app.manifest.examples[0]!r}."
                )
            intent = route(text)
            if intent is Intent.EXPORT:
                result = await _export(app, ctx, None, True)
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
                return await _status(app, ctx)
            if intent is Intent.UPLOAD:
                return EditResult(
                    status="done",
                    intent=intent.value,
                    reply="To upload, call upload_media with full file paths (or http(s) "
                    "links), then describe the change with send_edit.",
                )
            return await _edit(app, ctx, text)

    @mcp.tool(
        name="get_timeline",
        title="Show the timeline",
        description=texts.get_timeline,
        annotations=READS,
    )
    async def get_timeline(ctx: Context) -> TimelineResult:
        app = _app(ctx)
        with plain_errors(app):
            timeline = parse_draft(await app.client.state())
            jobs = app.jobs.outstanding()
            infos = [_job_info(app, job) for job in jobs]
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
                summary=_with_notices(app, summarize(timeline)),
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
        app = _app(ctx)
        with plain_errors(app):
            return await _export(app, ctx, output_dir, download)

    @mcp.tool(
        name="check_credits",
        title="Check credits",
        description=texts.check_credits,
        annotations=READS,
    )
    async def check_credits(ctx: Context) -> CreditsResult:
        app = _app(ctx)
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


# -- tool bodies (long work) -------------------------------------------------------------


def _edit_outcome(app: App, job: Job) -> EditResult:
    if job.status == "done" and isinstance(job.result, EditResult):
        job.reported = True
        result = job.result.model_copy(update={"job_id": job.id})
        return result.model_copy(update={"reply": _with_notices(app, result.reply)})
    if job.status == "failed":
        job.reported = True
        raise ToolError(job.error or "The request failed.")
    if job.status == "queued":
        place = app.jobs.queue_position(job)
        return EditResult(
            status="queued",
            intent="edit",
            job_id=job.id,
            reply=f"Queued behind the request that is running (place {place}); it will be sent "
            "once, when that one finishes. Ask for 'status' to follow it.",
        )
    low, high = app.manifest.typical_seconds
    return EditResult(
        status="running",
        intent="edit",
        job_id=job.id,
        reply=f"Still working ({elapsed_words(job.elapsed)} so far; this usually takes "
        f"{app.manifest.typical_time}). {job.message}. The request is not sent again: ask for "
        "'status' (send_edit) or call get_timeline in about 30 seconds for the result.",
    )


async def _edit(app: App, ctx: Context, text: str) -> EditResult:
    flow = EditFlow(app.client, app.settings.recovery_wait, app.manifest.typical_seconds[1])
    key = " ".join(text.lower().split())
    job, _joined = app.jobs.submit("edit", key, text, lambda job: flow.run(text, job))
    await app.jobs.wait(job, app.settings.tool_wait, _relay(ctx))
    return _edit_outcome(app, job)


async def _status(app: App, ctx: Context) -> EditResult:
    """Jobs first (waiting a while for a running edit), then the timeline."""
    running = app.jobs.active("edit")
    if running is not None:
        await app.jobs.wait(running, app.settings.tool_wait, _relay(ctx))
    finished = app.jobs.unreported("edit")
    if finished:
        latest = finished[-1]
        for job in finished[:-1]:
            job.reported = True
        return _edit_outcome(app, latest)
    still = app.jobs.active("edit")
    if still is not None:
        return _edit_outcome(app, still)
    timeline = parse_draft(await app.client.state())
    export = app.jobs.active("export")
    lines = [summarize(timeline)]
    if export is not None:
        lines.insert(0, f"An export is running ({elapsed_words(export.elapsed)}): {export.message}")
    return EditResult(
        status="done",
        intent=Intent.STATE.value,
        reply=_with_notices(app, "\n".join(lines)),
        timeline=summarize(timeline),
    )


def _output_dir(app: App, raw: str | None) -> Path:
    if raw is None or not raw.strip():
        return app.settings.output_dir
    folder = Path(raw.strip()).expanduser()
    if not folder.is_absolute():
        raise InputError(f"{raw} is a relative path. Give the full path of a folder.")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder. Give a folder for the MP4.")
    return folder


async def _export(app: App, ctx: Context, output_dir: str | None, download: bool) -> ExportResult:
    folder = _output_dir(app, output_dir)
    running = app.jobs.active("edit")
    flow = ExportFlow(
        app.client,
        app.settings.poll_interval,
        folder,
        wait_for_edits=(lambda: _edits_idle(app)) if running else None,
    )
    job, _joined = app.jobs.submit("export", "export", "export", lambda j: flow.run(j, download))
    await app.jobs.wait(job, app.settings.tool_wait, _relay(ctx))
    if job.status == "done" and isinstance(job.result, ExportResult):
        job.reported = True
        result = job.result.model_copy(update={"job_id": job.id})
        return result.model_copy(update={"reply": _with_notices(app, result.reply)})
    if job.status == "failed":
        job.reported = True
        raise ToolError(job.error or "The export failed.")
    return ExportResult(
        status="running",
        job_id=job.id,
        reply=f"Still exporting ({elapsed_words(job.elapsed)} so far): {job.message}. It goes on "
        "in the background; call export_video again in about 30 seconds to get the file.",
    )


async def _edits_idle(app: App) -> None:
    while (job := app.jobs.active("edit")) is not None:
        await job.done.wait()
