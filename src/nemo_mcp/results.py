"""What the tools return: pydantic models that become the published output schemas.

Every assistant pays for ``tools/list`` in context on every turn, so the schemas are compacted:
pydantic's ``title`` keys go, ``anyOf: [{type: X}, {type: null}]`` becomes ``type: [X, null]``,
defaults are dropped (these are results: the field stays optional by not being ``required``), and
an enum is written in place rather than as a ``$defs`` entry.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, WithJsonSchema

from nemo_mcp.routing import Intent
from nemo_mcp.store.records import JobKind


def _compact(schema: dict[str, Any]) -> None:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        options = prop.get("anyOf")
        if isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            only = kept[0] if len(kept) == 1 and len(kept) < len(options) else None
            if only is not None and set(only) == {"type"} and isinstance(only["type"], str):
                del prop["anyOf"]
                prop["type"] = [only["type"], "null"]
        prop.pop("default", None)


def no_title(schema: dict[str, Any]) -> None:
    """For a tool parameter's ``Field(json_schema_extra=...)``: its title repeats its name."""
    schema.pop("title", None)


class Compact(BaseModel):
    model_config = ConfigDict(json_schema_extra=lambda schema, _: _compact(schema))


EditStatus = Literal["done", "running", "queued", "failed", "interrupted", "cancelled", "declined"]
JobStatus = Literal["done", "running", "queued", "failed", "interrupted", "cancelled"]
ExportStatus = Literal["done", "running", "failed", "cancelled"]
UploadStatus = Literal["done", "running", "cancelled"]


class UploadedItem(Compact):
    name: str
    bytes: int | None = None
    type: str
    source: Literal["file", "url"]
    backend: JsonValue = None
    """What the backend returned for this item (offline, without loopback links)."""


class RejectedItem(Compact):
    name: str
    reason: str


class UploadResult(Compact):
    status: UploadStatus = "done"
    uploaded: list[UploadedItem] = []
    rejected: list[RejectedItem] = []
    job_id: str | None = None
    reply: str = ""


class JobInfo(Compact):
    job_id: str
    kind: JobKind
    status: JobStatus
    what: str
    elapsed_s: int
    message: str
    percent: int | None = None
    """How far along (0-100) while it runs."""
    url: str | None = None
    """A finished export's video."""


IntentField = Annotated[
    Intent, WithJsonSchema({"enum": [i.value for i in Intent], "type": "string"})
]


class EditResult(Compact):
    status: EditStatus
    intent: IntentField
    reply: str
    job_id: str | None = None
    timeline: str | None = None
    changes: list[str] = []


class TrackInfo(Compact):
    index: int
    kind: str
    name: str
    label: str
    start_ms: int
    end_ms: int
    volume_pct: int | None = None
    segments: int


class TimelineResult(Compact):
    summary: str
    ready: bool
    duration_ms: int
    tracks: list[TrackInfo]
    jobs: list[JobInfo]
    """Running, queued and finished-unreported work."""


class ExportResult(Compact):
    status: ExportStatus
    reply: str
    job_id: str | None = None
    render_id: str | None = None
    url: str | None = None
    path: str | None = None
    bytes: int | None = None
    link: str | None = None
    """A browser link to the project (cloud only)."""


class CreditsResult(Compact):
    available: int
    frozen: int
    """Held by running work until it ends."""
    total: int
    reply: str = ""


JobResult = EditResult | ExportResult | UploadResult
"""What a job leaves on record when it ends; which one follows from the job's kind
(``flows.kinds``)."""
