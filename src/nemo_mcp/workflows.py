"""The two long workflows: an edit (a message and its stream) and an export (render, poll,
download). They run inside jobs (``nemo_mcp.jobs``) and report progress through them.

Edit: the state is read before the message so a silent edit (about 30% of them) can be answered
from a diff, never with silence. A stream that drops or times out is never re-sent: the state is
read after ``NEMO_RECOVERY_WAIT`` seconds, then every twice that, five reads in all; a change is
reported as the result, no change as a failure with an offer to retry.

Export: the draft must be ready; a render is submitted with a fresh id that is recorded in the
config folder before the submit, so a restarted server resumes polling it instead of rendering
again. A failed render is submitted once more with a new id; a second failure is reported. The
MP4 is downloaded to a temporary name and put in place only when complete.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio

from nemo_mcp import gui
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.models import RenderJob
from nemo_mcp.backend.sse import Failure, Heartbeat, Signal, TextUpdate, ToolCall
from nemo_mcp.errors import (
    BackendError,
    BackendUnreachable,
    ExportBlocked,
    InputError,
    NemoError,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    SessionNotFound,
    StreamError,
    TokenInvalid,
)
from nemo_mcp.files import safe_filename
from nemo_mcp.jobs import Job, elapsed_words
from nemo_mcp.redact import redact
from nemo_mcp.results import EditResult, ExportResult
from nemo_mcp.store import RenderRecord
from nemo_mcp.timeline import Timeline, describe_changes, diff, is_ready, parse_draft, summarize

log = logging.getLogger(__name__)

RECOVERY_READS = 5
STALE_PART_SECONDS = 3600
RENDER_SHARE = 0.8  # of the export's progress bar; the download is the rest
UNREACHABLE_POLLS = 3
# A refused submit is tried once more with a new id, unless another try cannot help.
FINAL_SUBMIT_ERRORS = (ExportBlocked, OutOfCredits, TokenInvalid, SessionNotFound, RateLimited)


class EditFailed(NemoError):
    """The backend could not do the edit (its words are kept, redacted, for the user)."""


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class EditFlow:
    client: BackendClient
    recovery_wait: float
    typical_seconds: float

    async def run(self, message: str, job: Job) -> EditResult:
        before = parse_draft(await self.client.state())
        started = time.monotonic()

        def fraction() -> float:
            return min(0.95, (time.monotonic() - started) / max(self.typical_seconds, 1.0))

        async def on_signal(signal: Signal) -> None:
            if isinstance(signal, TextUpdate):
                await job.report(f"Backend: {_short(gui.translate(signal.text))}", fraction())
            elif isinstance(signal, ToolCall):
                await job.report(f"Working: {signal.name.replace('_', ' ')}", fraction())
            elif isinstance(signal, Heartbeat):
                await job.report(f"Still working... {elapsed_words(job.elapsed)}", fraction())
            elif isinstance(signal, Failure):
                await job.report("The backend reported a problem", fraction())

        await job.report("Sending the request to the backend", 0.01)
        try:
            turn = await self.client.send_message(message, on_signal)
        except StreamError as exc:
            return await self._recover(before, exc, job)
        after = parse_draft(await self.client.state())
        changes = diff(before, after)
        text = gui.translate(gui.strip_trailing_glitch(turn.text)).strip()
        if turn.error and not changes:
            detail = redact(turn.error)
            prefix = f"{text}\n" if text else ""
            raise EditFailed(f"{prefix}The backend could not finish the request: {detail}")
        if turn.error:
            text = (text + "\n" if text else "") + "(The backend reported a problem at the end.)"
        return self._result(text or describe_changes(before, after), after, changes)

    def _result(self, reply: str, after: Timeline, changes: list[str]) -> EditResult:
        return EditResult(
            status="done",
            intent="edit",
            reply=reply,
            timeline=summarize(after),
            changes=changes,
        )

    async def _recover(self, before: Timeline, exc: StreamError, job: Job) -> EditResult:
        """Never re-send: watch the state for the edit landing instead."""
        log.warning("edit stream ended badly (%s); recovering from state", type(exc).__name__)
        for attempt in range(RECOVERY_READS):
            wait = self.recovery_wait * (1 if attempt == 0 else 2)
            await job.report(
                f"The connection dropped; checking the project in {wait:.0f} s "
                f"(check {attempt + 1} of {RECOVERY_READS}; the request is not sent again)"
            )
            await anyio.sleep(wait)
            after = parse_draft(await self.client.state())
            if changes := diff(before, after):
                reply = "The connection dropped, but the edit landed: " + describe_changes(
                    before, after
                )
                return self._result(reply, after, changes)
        raise EditFailed(
            f"The connection to the backend dropped and the project has not changed after "
            f"{RECOVERY_READS} checks. The request was not sent twice; ask again to retry it."
        )


ByteProgress = Callable[[int, int | None], Awaitable[None]]


@dataclass
class ExportFlow:
    client: BackendClient
    poll_interval: float
    output_dir: Path
    wait_for_edits: Callable[[], Awaitable[None]] | None = None

    async def run(self, job: Job, download: bool) -> ExportResult:
        if self.wait_for_edits is not None:
            await job.report("Waiting for the running edit to finish before exporting")
            await self.wait_for_edits()
        session = await self.client.session()
        record = self.client.store.render(session.session_id)
        output_dir = Path(record.output_dir) if record else self.output_dir
        render: RenderJob | None = None
        if record is not None:
            await job.report("Resuming the export that was already rendering")
            render = await self._poll(record.render_id, job)
        if render is None or render.status != "completed":
            render = await self._render(session.session_id, output_dir, job, retry=render is None)
        url = render.url or self.client.fallback_download_url(render.id)
        path: Path | None = None
        if download:
            path = await self._download(render.id, url, output_dir, job)
        self.client.store.forget_render(session.session_id)
        link = await self._link()
        reply = f"The video is ready: {path}" if path else f"The video is ready at {url}"
        return ExportResult(
            status="done",
            reply=reply,
            render_id=render.id,
            url=url,
            path=str(path) if path else None,
            bytes=path.stat().st_size if path else None,
            link=link,
        )

    async def _render(
        self, session_id: str, output_dir: Path, job: Job, *, retry: bool
    ) -> RenderJob:
        state = await self.client.state()
        draft = state.get("draft")
        if not is_ready(parse_draft(draft)):
            raise InputError(
                "The timeline is empty, so there is nothing to export yet. Upload media and "
                "ask for an edit first (send_edit), then export."
            )
        attempts = 2 if retry else 1
        last_error = "the backend refused the render"
        for attempt in range(1, attempts + 1):
            render_id = f"render_{int(time.time() * 1000)}"
            self.client.store.save_render(
                RenderRecord(render_id, session_id, time.time(), str(output_dir))
            )
            await job.report(f"Rendering the video (attempt {attempt})", 0.02)
            try:
                await self.client.submit_render(draft, render_id, session_id)
                render = await self._poll(render_id, job)
            except BackendError as exc:
                if isinstance(exc, FINAL_SUBMIT_ERRORS):
                    self.client.store.forget_render(session_id)
                    raise
                last_error = str(exc) or last_error
                continue
            if render.status == "completed":
                return render
            last_error = render.error or "the render failed"
        self.client.store.forget_render(session_id)
        raise RenderFailed(redact(last_error))

    async def _poll(self, render_id: str, job: Job) -> RenderJob:
        unreachable = 0
        while True:
            try:
                render = await self.client.render_status(render_id)
                unreachable = 0
            except BackendUnreachable:
                unreachable += 1
                if unreachable >= UNREACHABLE_POLLS:
                    raise
                await anyio.sleep(self.poll_interval)
                continue
            except BackendError as exc:
                log.warning("render %s could not be read: %s", render_id, type(exc).__name__)
                return RenderJob(id=render_id, status="failed", error="unknown render")
            if render.status in ("completed", "failed"):
                return render
            share = (render.progress or 0.0) / 100 * RENDER_SHARE
            await job.report(f"Rendering: {render.status} {render.progress or 0:.0f}%", share)
            await anyio.sleep(self.poll_interval)

    async def _download(self, render_id: str, url: str, output_dir: Path, job: Job) -> Path:
        _remove_stale_parts(output_dir)
        name = safe_filename(f"{self.client.manifest.name}-{datetime.now():%Y%m%d-%H%M%S}")

        async def progress(done: int, total: int | None) -> None:
            share = done / total if total else 0.5
            await job.report(
                f"Downloading: {done / 1_048_576:.1f} MB", RENDER_SHARE + share * (1 - RENDER_SHARE)
            )

        await job.report("Downloading the MP4", RENDER_SHARE)
        fallback = self.client.fallback_download_url(render_id)
        try:
            return await self.client.download(url, output_dir / name, progress=progress)
        except (BackendError, BackendUnreachable):
            if url == fallback:
                raise
            log.warning("download from the render URL failed; using the fallback")
            return await self.client.download(fallback, output_dir / name, progress=progress)

    async def _link(self) -> str | None:
        try:
            return await self.client.claim_link()
        except NemoError:
            return None


def _remove_stale_parts(folder: Path) -> None:
    """Temporary files a killed server could not clean up, once they are clearly abandoned."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_PART_SECONDS
    for part in folder.glob(".*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()
