"""What the tools return: pydantic models that become the published output schemas.

Every assistant pays for ``tools/list`` in context on every turn, so the schemas are compacted:
pydantic's ``title`` keys go, ``anyOf: [{type: X}, {type: null}]`` becomes ``type: [X, null]``,
and a ``null`` default is dropped (the field stays optional: it is not in ``required``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
        if prop.get("default", 0) is None:
            del prop["default"]


def no_title(schema: dict[str, Any]) -> None:
    """For a tool parameter's ``Field(json_schema_extra=...)``: its title repeats its name."""
    schema.pop("title", None)


class Compact(BaseModel):
    model_config = ConfigDict(json_schema_extra=lambda schema, _: _compact(schema))


EditStatus = Literal["done", "running", "queued", "failed"]
ExportStatus = Literal["done", "running", "failed"]


class UploadedItem(Compact):
    name: str
    bytes: int | None = None
    type: str
    source: Literal["file", "url"]
    backend: Any = Field(default=None, description="what the backend returned for this item")


class RejectedItem(Compact):
    name: str
    reason: str


class UploadResult(Compact):
    uploaded: list[UploadedItem]
    rejected: list[RejectedItem]


class JobInfo(Compact):
    job_id: str
    kind: Literal["edit", "export"]
    status: EditStatus
    what: str
    elapsed_s: int
    message: str


class EditResult(Compact):
    status: EditStatus
    intent: str
    reply: str
    job_id: str | None = None
    timeline: str | None = Field(default=None, description="one-line summary after the edit")
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
    ready: bool = Field(description="true when there is something to export")
    duration_ms: int
    tracks: list[TrackInfo]
    jobs: list[JobInfo] = Field(description="running, queued and finished-unreported work")


class ExportResult(Compact):
    status: ExportStatus
    reply: str
    job_id: str | None = None
    render_id: str | None = None
    url: str | None = None
    path: str | None = Field(default=None, description="the MP4 on this computer")
    bytes: int | None = None
    link: str | None = Field(default=None, description="browser link to the project")


class CreditsResult(Compact):
    available: int
    frozen: int = Field(description="reserved by running work")
    total: int
