"""From a job's record to its workflow: the one dispatch on a job's kind.

Jobs are started from their records (also after a restart, by another process), so the work is
looked up by kind here rather than carried as a closure.
"""

from __future__ import annotations

from dataclasses import dataclass

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.flows.edit import EditFlow
from nemo_mcp.flows.export import ExportFlow
from nemo_mcp.flows.upload import UploadFlow
from nemo_mcp.jobs import RunningJob
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import JobResult
from nemo_mcp.settings import Settings
from nemo_mcp.store import StateStore


@dataclass
class Work:
    """Runs one job of any kind for one backend client."""

    client: BackendClient
    store: StateStore
    settings: Settings
    manifest: Manifest

    async def __call__(self, job: RunningJob) -> JobResult:
        kind = job.record.kind
        if kind == "edit":
            flow = EditFlow(
                self.client, self.store, self.settings.recovery_wait,
                self.manifest.typical_seconds[1],
            )  # fmt: skip
            return await flow.run(job)
        if kind == "export":
            return await ExportFlow(self.client, self.store, self.settings).run(job)
        return await UploadFlow(self.client, self.manifest).run(job)
