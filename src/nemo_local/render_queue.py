"""Render jobs: a draft becomes an H.264 MP4 in a worker thread, never on the event loop.

A job goes ``pending -> processing -> completed | failed``; ``progress`` (0-100) moves while it
processes. The renderer (``nemo_local.encode``) is imported only when a job runs, so
the backend starts fast and works without the ``[local]`` extra until someone exports; a missing
renderer or FFmpeg is a failed job whose error says what to install. Job ids are global: the same
id submitted again returns the existing job (a render never runs twice), and a session has at most
one export running at a time. Finished jobs are kept (``snapshot``/``restore``) by a backend that
keeps state, so an export finished before a restart can still be fetched after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from nemo_local import api_errors
from nemo_local.api_errors import ApiError

log = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "failed"})
INSTALL_ADVICE = (
    "the local renderer is not available ({reason}); install it with: pip install 'nemo-mcp[local]'"
)


@dataclass
class RenderTask:
    id: str
    account_id: str
    session_id: str
    status: str = "pending"
    progress: float = 0.0
    error: str | None = None
    path: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)
    fail: bool = False
    """Set by the ``fail_next_render`` switch at submit time."""
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: anyio.Event = field(default_factory=anyio.Event)

    def set_progress(self, value: float) -> None:
        """Called from the render thread with a fraction (0-1); a float store is atomic."""
        self.progress = max(self.progress, min(100.0, value * 100.0))

    def public(self, base_url: str) -> dict[str, Any]:
        """The status answer (sent bare, without the envelope, like the cloud sometimes does)."""
        body: dict[str, Any] = {
            "id": self.id,
            "sessionId": self.session_id,
            "status": self.status,
            "progress": int(self.progress),
        }
        if self.status == "completed":
            body["output"] = {"url": f"{base_url}/files/renders/{self.id}.mp4", **self.details}
        if self.error:
            body["error"] = self.error
        return body


class Renders:
    """The render jobs of one backend, and their files under ``<data_dir>/renders``."""

    def __init__(self, directory: Path, canvas: tuple[int, int]) -> None:
        self.directory = directory
        self._canvas = canvas
        self._jobs: dict[str, RenderTask] = {}
        self.changed: Callable[[], None] = lambda: None
        """Called when a job finishes (the backend saves then, if it keeps state)."""

    def snapshot(self) -> list[dict[str, Any]]:
        """The finished jobs, as JSON values (their files by name: no URL, no port)."""
        return [
            {
                "id": j.id,
                "account_id": j.account_id,
                "session_id": j.session_id,
                "status": j.status,
                "error": j.error,
                "details": j.details,
                "file": j.path.name if j.path else None,
            }  # fmt: skip
            for j in self._jobs.values()
            if j.status in TERMINAL
        ]

    def restore(self, jobs: list[dict[str, Any]], sessions: set[str]) -> None:
        """Load a ``snapshot``'s jobs of live ``sessions``; one whose file is gone is dropped."""
        for item in jobs:
            path = self.directory / item["file"] if item.get("file") else None
            if item["session_id"] not in sessions or (path is not None and not path.is_file()):
                continue
            job = RenderTask(
                item["id"], item["account_id"], item["session_id"], status=item["status"],
                progress=100.0 if item["status"] == "completed" else 0.0, error=item.get("error"),
                path=path, details=item.get("details") or {},
            )  # fmt: skip
            job.finished.set()
            self._jobs[job.id] = job

    def get(self, job_id: str, account_id: str) -> RenderTask:
        job = self._jobs.get(job_id)
        if job is None or job.account_id != account_id:
            raise ApiError(api_errors.NOT_FOUND, f"Render not found: {job_id[:80]}")
        return job

    def completed_file(self, job_id: str) -> Path | None:
        job = self._jobs.get(job_id)
        return job.path if job and job.status == "completed" else None

    def submit(self, job_id: str, account_id: str, session_id: str) -> tuple[RenderTask, bool]:
        """The job with ``job_id`` and whether it is new (an existing id is answered, not re-run).

        Refuses (409) a second export while one runs for the session, and an id owned by another
        account."""
        existing = self._jobs.get(job_id)
        if existing is not None:
            if existing.account_id != account_id:
                raise ApiError(api_errors.CONFLICT, f"Render id already in use: {job_id}")
            return existing, False
        for job in self._jobs.values():
            if job.session_id == session_id and job.status not in TERMINAL:
                raise ApiError(
                    api_errors.CONFLICT,
                    f"An export is already running for this session ({job.id}); "
                    "wait for it to finish.",
                )
        job = RenderTask(job_id, account_id, session_id)
        self._jobs[job_id] = job
        return job, True

    async def run(
        self, job: RenderTask, draft: Mapping[str, Any], media: Mapping[str, Path]
    ) -> None:
        """Render ``job`` to ``<id>.mp4``; every outcome ends in a terminal status."""
        job.status = "processing"
        final = self.directory / f"{job.id}.mp4"
        try:
            job.details = await self._render(job, draft, media, final)
            job.path, job.status, job.progress = final, "completed", 100.0
        except _Failed as failure:
            job.status, job.error = "failed", str(failure)
        except Exception:
            log.exception("render %s failed unexpectedly", job.id)
            job.status, job.error = "failed", "internal render error (see the backend's log)"
        finally:
            if job.status not in TERMINAL:  # cancelled: the backend is stopping
                job.cancel.set()
                job.status, job.error = "failed", "the local backend stopped during the render"
            job.finished.set()
            self.changed()

    async def _render(
        self, job: RenderTask, draft: Mapping[str, Any], media: Mapping[str, Path], out: Path
    ) -> dict[str, Any]:
        if job.fail:
            raise _Failed("render failed (the fail_next_render switch was on)")
        try:
            from nemo_local import encode
        except ImportError as exc:
            raise _Failed(INSTALL_ADVICE.format(reason=exc)) from exc
        work = partial(
            encode.render_draft,
            draft,
            media,
            out,
            default_canvas=self._canvas,
            progress=job.set_progress,
            cancel=job.cancel,
        )
        try:
            result = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except encode.RenderError as exc:
            raise _Failed(str(exc) or "render failed") from exc
        except (ImportError, FileNotFoundError) as exc:
            raise _Failed(INSTALL_ADVICE.format(reason=exc)) from exc
        return {
            "format": "mp4",
            "bytes": result.bytes,
            "duration_ms": result.duration_ms,
            "width": result.width,
            "height": result.height,
            "has_audio": result.has_audio,
        }

    def cancel_all(self) -> None:
        """Ask running renders to stop (the backend is shutting down)."""
        for job in self._jobs.values():
            if job.status not in TERMINAL:
                job.cancel.set()


class _Failed(Exception):
    """A render failure whose message the user may read."""
