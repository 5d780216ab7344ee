"""Each kind of job declared once: what it asks, what it leaves, the flow that runs it, its key,
whether it runs one at a time, what it waits for, and how its results are told.

A job is started from its record (also after a restart, by another process), so the work is
found by the record's kind in ``SPECS`` rather than carried as a closure. The job manager reads
the same specs for its rules (``jobs.KindRules``): the layers below never name a kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.flows.edit import EditFlow, EditRequest
from nemo_mcp.flows.export import ExportFlow, ExportRequest
from nemo_mcp.flows.upload import UploadFlow
from nemo_mcp.jobs import RunningJob, Telling
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import EditResult, ExportResult, UploadResult
from nemo_mcp.settings import Settings
from nemo_mcp.store import JobKind, JobRecord, StateStore
from nemo_mcp.uploads import UploadRequest

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@dataclass(frozen=True)
class Work:
    """The parts a flow runs with, for one user: their client, the store, the settings."""

    client: BackendClient
    store: StateStore
    settings: Settings
    manifest: Manifest

    async def __call__(self, job: RunningJob) -> BaseModel:
        """Run ``job`` by its kind's flow."""
        result: BaseModel = await SPECS[job.record.kind].run(self, job)
        return result


@dataclass(frozen=True)
class JobSpec(Generic[Req, Res]):
    kind: JobKind
    request: type[Req]
    result: type[Res]
    flow: Callable[[Work, RunningJob], Awaitable[Res]]
    """Runs the job from its record (its request is a ``request``)."""
    key: Callable[[Req], str]
    """The same key while a job is active joins it (never sent twice)."""
    label: Callable[[Req], str]
    """What the job is, in the user's words, for listings."""
    serial: bool
    """One at a time per user: a new one waits in the queue, in order."""
    tells: Telling
    """How finished results are told (``jobs.Telling``)."""
    after: tuple[JobKind, ...] = ()
    """Kinds asked for earlier that must finish first."""
    waiting: str = ""
    """What the job waits to do, for "Waiting for the running upload to finish before ..."."""

    def key_of(self, request: BaseModel) -> str:
        return self.key(self._typed(request))

    def label_of(self, request: BaseModel) -> str:
        return self.label(self._typed(request))

    def result_of(self, record: JobRecord) -> Res | None:
        """The result a finished job of this kind left on record."""
        return None if record.result is None else self.result.model_validate_json(record.result)

    async def run(self, work: Work, job: RunningJob) -> Res:
        return await self.flow(work, job)

    def _typed(self, request: BaseModel) -> Req:
        if not isinstance(request, self.request):
            raise TypeError(f"a {self.kind} job asks with {self.request.__name__}")
        return request


async def _edit(work: Work, job: RunningJob) -> EditResult:
    flow = EditFlow(
        work.client, work.store, work.settings.recovery_wait, work.manifest.typical_seconds[1]
    )
    return await flow.run(job)


async def _export(work: Work, job: RunningJob) -> ExportResult:
    return await ExportFlow(work.client, work.store, work.settings).run(job)


async def _upload(work: Work, job: RunningJob) -> UploadResult:
    return await UploadFlow(work.client, work.manifest).run(job)


def message_key(request: EditRequest) -> str:
    """The same words (case and spacing aside) join the same edit job."""
    return " ".join(request.text.lower().split())


EDIT = JobSpec(
    kind="edit", request=EditRequest, result=EditResult, flow=_edit, key=message_key,
    label=lambda r: r.text, serial=True, tells="in_order", after=("upload",),
    waiting="sending the request",
)  # fmt: skip
EXPORT = JobSpec(
    kind="export", request=ExportRequest, result=ExportResult, flow=_export,
    key=lambda _: "export", label=lambda _: "export", serial=False, tells="latest",
    after=("upload", "edit"), waiting="exporting",
)  # fmt: skip
UPLOAD = JobSpec(
    kind="upload", request=UploadRequest, result=UploadResult, flow=_upload,
    key=lambda r: r.key, label=lambda r: ", ".join([m.name for m in r.files] + r.urls),
    serial=False, tells="own",
)  # fmt: skip
SPECS: dict[str, JobSpec[Any, Any]] = {spec.kind: spec for spec in (EDIT, EXPORT, UPLOAD)}
"""Every kind, by name: what the manager and ``Work`` look a record's kind up in."""
