"""What the tools do once the MCP layer has handed over: the app the lifespan builds, the one
error boundary, and the long-work hand-off (wait up to ``NEMO_TOOL_WAIT``, then ``running``).

Kept apart from ``server.py`` so the server module is only registration and wiring.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import Hints, InputError, NemoError, user_message
from nemo_mcp.jobs import Job, JobManager, elapsed_words
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import EditResult, ExportResult, JobInfo
from nemo_mcp.routing import Intent
from nemo_mcp.settings import Settings
from nemo_mcp.timeline import parse_draft, summarize
from nemo_mcp.workflows import EditFlow, ExportFlow

log = logging.getLogger(__name__)

ROOTS_TIMEOUT = 5.0


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


def app_of(ctx: Context) -> App:
    return cast(App, ctx.request_context.lifespan_context)


def relay(ctx: Context) -> Any:
    async def relay(progress: float, total: float, message: str) -> None:
        await ctx.report_progress(progress, total, message)

    return relay


def with_notices(app: App, reply: str) -> str:
    notices = app.client.take_notices()
    return "\n".join([*notices, reply]) if notices else reply


def job_info(app: App, job: Job) -> JobInfo:
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


async def client_roots(ctx: Context) -> list[Path] | None:
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


R = TypeVar("R", EditResult, ExportResult)


def finished(app: App, job: Job, expected: type[R]) -> R | None:
    """The job's result (now reported) once it is done, None while it runs; failures raise."""
    if job.status == "done" and isinstance(job.result, expected):
        job.reported = True
        result = job.result.model_copy(update={"job_id": job.id})
        return result.model_copy(update={"reply": with_notices(app, result.reply)})
    if job.status == "failed":
        job.reported = True
        raise ToolError(job.error or "The request failed.")
    return None


def edit_outcome(app: App, job: Job) -> EditResult:
    if (result := finished(app, job, EditResult)) is not None:
        return result
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


async def edit(app: App, ctx: Context, text: str) -> EditResult:
    flow = EditFlow(app.client, app.settings.recovery_wait, app.manifest.typical_seconds[1])
    key = " ".join(text.lower().split())
    job, _joined = app.jobs.submit("edit", key, text, lambda job: flow.run(text, job))
    await app.jobs.wait(job, app.settings.tool_wait, relay(ctx))
    return edit_outcome(app, job)


async def status(app: App, ctx: Context) -> EditResult:
    """Jobs first (waiting a while for a running edit), then the timeline."""
    running = app.jobs.active("edit")
    if running is not None:
        await app.jobs.wait(running, app.settings.tool_wait, relay(ctx))
    finished = app.jobs.unreported("edit")
    if finished:
        latest = finished[-1]
        for job in finished[:-1]:
            job.reported = True
        return edit_outcome(app, latest)
    still = app.jobs.active("edit")
    if still is not None:
        return edit_outcome(app, still)
    timeline = parse_draft(await app.client.state())
    export = app.jobs.active("export")
    lines = [summarize(timeline)]
    if export is not None:
        lines.insert(0, f"An export is running ({elapsed_words(export.elapsed)}): {export.message}")
    return EditResult(
        status="done",
        intent=Intent.STATE.value,
        reply=with_notices(app, "\n".join(lines)),
        timeline=summarize(timeline),
    )


def output_dir_of(app: App, raw: str | None) -> Path:
    if raw is None or not raw.strip():
        return app.settings.output_dir
    folder = Path(raw.strip()).expanduser()
    if not folder.is_absolute():
        raise InputError(f"{raw} is a relative path. Give the full path of a folder.")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder. Give a folder for the MP4.")
    return folder


async def export(app: App, ctx: Context, output_dir: str | None, download: bool) -> ExportResult:
    folder = output_dir_of(app, output_dir)
    running = app.jobs.active("edit")
    flow = ExportFlow(
        app.client,
        app.settings.poll_interval,
        folder,
        wait_for_edits=(lambda: edits_idle(app)) if running else None,
    )
    job, _joined = app.jobs.submit("export", "export", "export", lambda j: flow.run(j, download))
    await app.jobs.wait(job, app.settings.tool_wait, relay(ctx))
    if (result := finished(app, job, ExportResult)) is not None:
        return result
    return ExportResult(
        status="running",
        job_id=job.id,
        reply=f"Still exporting ({elapsed_words(job.elapsed)} so far): {job.message}. It goes on "
        "in the background; call export_video again in about 30 seconds to get the file.",
    )


async def edits_idle(app: App) -> None:
    while (job := app.jobs.active("edit")) is not None:
        await job.done.wait()
