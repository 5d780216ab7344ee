"""An export: render the draft, poll the render, save the MP4. Nothing is ever rendered twice.

- Uploads and edits asked for before it finish first (an export of a half-made edit is not
  what anyone wants); the job manager waits for them, by ``kinds.EXPORT.after``.
- The draft must be ready, and the output folder able to take the file, before a render is
  submitted: a bad folder costs nothing and names itself.
- A render is recorded (with a digest of the draft) before it is submitted, so a restarted
  server resumes polling it. A refused submit or a failed render is tried once more with a new
  id; a second failure is reported. Polling starts fast and backs off (``poll_delay``) to
  ``NEMO_POLL_INTERVAL`` s, capped at ``NEMO_RENDER_POLLS`` polls: past the cap the record is
  kept and the answer says to ask again.
- A render that finished stays on record (its draft's digest with it): the next export of the
  same draft saves it again (to whatever folder) without rendering again, also when the first
  save failed.
- An export of a draft that has not changed since the last export into the same folder, whose
  file is still there, answers with that file: no render, no second identical MP4, unless the
  user asks for a new copy (``new_copy``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import anyio
from pydantic import BaseModel

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.models import RenderJob
from nemo_mcp.downloads import check_folder, remove_stale_parts, room_needed, save_video
from nemo_mcp.errors import (
    BackendError,
    BackendUnreachable,
    DownloadFailed,
    ExportBlocked,
    InputError,
    NemoError,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    SessionNotFound,
    TokenInvalid,
)
from nemo_mcp.files import safe_filename
from nemo_mcp.jobs import RunningJob, elapsed_words
from nemo_mcp.results import ExportResult
from nemo_mcp.settings import Settings
from nemo_mcp.store import RenderRecord, StateStore
from nemo_mcp.timeline import is_ready, parse_draft
from nemo_mcp.words import duration_words

log = logging.getLogger(__name__)

RENDER_SHARE = 0.8  # of the export's progress bar; the download is the rest
FIRST_POLL_DELAY = 2.0
UNREACHABLE_POLLS = 3
# A refused submit is tried once more with a new id, unless another try cannot help.
FINAL_SUBMIT_ERRORS = (ExportBlocked, OutOfCredits, TokenInvalid, SessionNotFound, RateLimited)
EMPTY_TIMELINE = (
    "The timeline is empty, so there is nothing to export yet. Upload media and ask for an edit "
    "first (send_edit), then export."
)


class ExportRequest(BaseModel):
    output_dir: str
    download: bool = True
    new_copy: bool = False
    draft_digest: str = ""
    """The draft this export saved (kept once it is done, for the next export to compare)."""


UNCHANGED = (
    "Nothing changed since the last export, so this is that video (no new render): {path}. "
    "Ask for a new copy (export_video with new_copy) if you want another file."
)


def new_render_id() -> str:
    """``render_<ms><6 random digits>``: the id is the caller's choice and must not collide with
    another user's render in the same millisecond (the backend refuses an id in use)."""
    return f"render_{int(time.time() * 1000)}{secrets.randbelow(10**6):06d}"


def poll_delay(age: float, interval: float) -> float:
    """Seconds to wait before polling a render that was submitted ``age`` seconds ago.

    A short render is reported within ~2 s of its end, not a whole ``interval`` later; a long
    one soon settles at ``interval`` (the wait doubles the render's age), so the vendor's
    per-call poll budget still covers minutes. A resumed old render is polled at ``interval``."""
    return min(interval, max(FIRST_POLL_DELAY, age))


class PollBudgetSpent(Exception):
    """The render is still going after the allowed polls; it stays on record."""


def draft_digest(draft: object) -> str:
    text = json.dumps(draft, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class ExportFlow:
    client: BackendClient
    store: StateStore
    settings: Settings

    async def run(self, job: RunningJob) -> ExportResult:
        request = ExportRequest.model_validate_json(job.record.request)
        folder = Path(request.output_dir)
        session = await self.client.sessions.current()
        draft = (await self.client.state()).get("draft")
        digest = draft_digest(draft)
        record = await self.store.render(self.client.scope, session.session_id)
        if record is not None and record.draft_digest not in ("", digest):
            log.info("the draft changed since render %s; rendering again", record.render_id)
            await self.store.drop_render(self.client.scope, record.render_id)
            record = None
        if request.download and not request.new_copy:
            if (same := await self._unchanged(job, folder, digest)) is not None:
                return same
        timeline = parse_draft(draft)
        if record is None and not is_ready(timeline):
            raise InputError(EMPTY_TIMELINE)
        if request.download:
            need = room_needed(timeline.duration_ms)
            await anyio.to_thread.run_sync(check_folder, folder, need, abandon_on_cancel=True)
        try:
            record = await self._rendered(record, draft, digest, session.session_id, job)
        except PollBudgetSpent as spent:
            return self._still_rendering(job, str(spent))
        url = record.url or self.client.fallback_download_url(record.render_id)
        path = await self._save(record, url, folder, job) if request.download else None
        await job.remember(request.model_copy(update={"draft_digest": digest}))
        link = await self._link()
        reply = f"The video is ready: {path}" if path else f"The video is ready at {url}"
        # Offline, the URL is loopback and dies with the process: the saved file is the result.
        shown = url if self.client.deployment.backend_urls_last or not path else None
        return ExportResult(
            status="done", reply=reply, render_id=record.render_id, url=shown,
            path=str(path) if path else None, bytes=path.stat().st_size if path else None,
            link=link,
        )  # fmt: skip

    async def _unchanged(self, job: RunningJob, folder: Path, digest: str) -> ExportResult | None:
        """The last export's result when it saved this very draft in ``folder`` and the file is
        still there; else None."""
        done = await self.store.jobs(self.client.scope, kinds=["export"], states=["done"])
        for earlier in reversed(done):
            asked = ExportRequest.model_validate_json(earlier.request)
            if not asked.draft_digest or earlier.result is None:
                continue
            result = ExportResult.model_validate_json(earlier.result)
            path = Path(result.path) if result.path else None
            if asked.draft_digest != digest or path is None or path.parent != folder:
                return None
            if not await anyio.Path(path).is_file():
                return None
            await job.report("Nothing changed since the last export", 1.0)
            return result.model_copy(
                update={"reply": UNCHANGED.format(path=path), "bytes": path.stat().st_size}
            )
        return None

    async def _rendered(
        self,
        record: RenderRecord | None,
        draft: object,
        digest: str,
        session_id: str,
        job: RunningJob,
    ) -> RenderRecord:
        """A completed render of this draft: the recorded one, resumed, or a new one."""
        if record is not None and record.status == "completed":
            await job.report("Saving the render that already finished", RENDER_SHARE)
            return record
        if record is not None:
            await job.report("Resuming the export that was already rendering")
            render = await self._poll(record, job)
            if render.status == "completed":
                return await self._completed(record, render)
            log.info("the resumed render %s failed; submitting a new one", record.render_id)
        return await self._render(draft, digest, session_id, job, attempts=1 if record else 2)

    async def _render(
        self, draft: object, digest: str, session_id: str, job: RunningJob, *, attempts: int
    ) -> RenderRecord:
        scope = self.client.scope
        for attempt in range(1, attempts + 1):
            record = RenderRecord(
                render_id=new_render_id(), session_id=session_id,
                draft_digest=digest, submitted_at=time.time(),
            )  # fmt: skip
            await self.store.save_render(scope, record)
            await job.report(f"Rendering the video (attempt {attempt})", 0.02)
            try:
                await self.client.submit_render(draft, record.render_id, session_id)
                render = await self._poll(record, job)
            except FINAL_SUBMIT_ERRORS:
                await self.store.drop_render(scope, record.render_id)
                raise
            except BackendError as exc:
                log.warning("render %s was refused: %s", record.render_id, type(exc).__name__)
                continue
            if render.status == "completed":
                return await self._completed(record, render)
            log.warning("render %s failed on the backend", record.render_id)
        await self.store.drop_render(scope, record.render_id)
        raise RenderFailed("the render failed twice")

    async def _completed(self, record: RenderRecord, render: RenderJob) -> RenderRecord:
        # Offline, the URL names this run's port; the download route finds the render after a
        # restart on any port, so that is what is kept.
        done = replace(
            record,
            status="completed",
            url=render.url if self.client.deployment.backend_urls_last else None,
        )
        await self.store.save_render(self.client.scope, done)
        return done

    async def _poll(self, record: RenderRecord, job: RunningJob) -> RenderJob:
        unreachable = 0
        for poll in range(1, self.settings.render_polls + 1):
            try:
                render = await self.client.render_status(record.render_id)
                unreachable = 0
            except BackendUnreachable:
                unreachable += 1
                if unreachable >= UNREACHABLE_POLLS:
                    raise
                await anyio.sleep(self._delay(record))
                continue
            except BackendError as exc:
                log.warning("render %s could not be read: %s", record.render_id, type(exc).__name__)
                return RenderJob(id=record.render_id, status="failed")
            await self.store.save_render(self.client.scope, replace(record, polls=poll))
            if render.status in ("completed", "failed"):
                return render
            share = (render.progress or 0.0) / 100 * RENDER_SHARE
            await job.report(f"Rendering: {render.status} {render.progress or 0:.0f}%", share)
            if poll < self.settings.render_polls:  # past the last poll, say so at once
                await anyio.sleep(self._delay(record))
        raise PollBudgetSpent(record.render_id)

    def _delay(self, record: RenderRecord) -> float:
        return poll_delay(time.time() - record.submitted_at, self.settings.poll_interval)

    def _still_rendering(self, job: RunningJob, render_id: str) -> ExportResult:
        later = duration_words(self.settings.poll_interval * self.settings.render_polls)
        return ExportResult(
            status="running",
            render_id=render_id,
            reply=(
                "The video is still rendering on the backend after "
                f"{elapsed_words(job.record.elapsed)}. "
                f"Call export_video again in about {later}: it continues this render and "
                "never starts another."
            ),
        )

    async def _save(self, record: RenderRecord, url: str, folder: Path, job: RunningJob) -> Path:
        remove_stale_parts(folder)
        name = safe_filename(f"{self.client.manifest.name}-{datetime.now():%Y%m%d-%H%M%S}")

        async def progress(done: int, total: int | None) -> None:
            share = done / total if total else 0.5
            await job.report(
                f"Downloading: {done / 1_048_576:.1f} MB", RENDER_SHARE + share * (1 - RENDER_SHARE)
            )

        await job.report("Downloading the MP4", RENDER_SHARE)
        fallback = self.client.fallback_download_url(record.render_id)
        try:
            try:
                return await save_video(self.client, url, folder / name, progress=progress)
            except (BackendError, BackendUnreachable):
                if url == fallback:
                    raise
                log.warning("download from the render URL failed; using the fallback")
                return await save_video(self.client, fallback, folder / name, progress=progress)
        except (NemoError, OSError) as exc:
            log.warning("the render could not be saved: %s", type(exc).__name__)
            raise DownloadFailed(folder, exc) from None

    async def _link(self) -> str | None:
        with contextlib.suppress(NemoError):
            return await self.client.project_link()
        return None
