"""Typed views of backend answers, read leniently (the cloud adds fields and may omit some)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RenderState = Literal["pending", "processing", "completed", "failed"]
JsonObject = dict[str, Any]
"""A JSON object as the backend sent it (state, drafts, upload answers): read leniently."""


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return default
    return default


class Credits(BaseModel):
    model_config = ConfigDict(frozen=True)

    available: int
    frozen: int
    total: int

    @classmethod
    def from_answer(cls, data: Any) -> Credits:
        d = data if isinstance(data, dict) else {}
        available, frozen = _int(d.get("available")), _int(d.get("frozen"))
        total = _int(d.get("total"), available + frozen)
        return cls(available=available, frozen=frozen, total=total)


class RenderJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: RenderState
    url: str | None = None
    progress: float | None = None
    error: str | None = None

    @classmethod
    def from_answer(cls, render_id: str, data: Any) -> RenderJob:
        d = data if isinstance(data, dict) else {}
        raw = str(d.get("status") or "pending").lower()
        status: RenderState
        if raw in ("completed", "complete", "done", "succeeded", "success"):
            status = "completed"
        elif raw in ("failed", "error", "cancelled", "canceled"):
            status = "failed"
        elif raw in ("processing", "running", "rendering", "in_progress"):
            status = "processing"
        else:
            status = "pending"
        output = d.get("output")
        url = output.get("url") if isinstance(output, dict) else None
        url = url or d.get("url")
        progress = d.get("progress")
        error = d.get("error") or d.get("message")
        return cls(
            id=str(d.get("id") or render_id),
            status=status,
            url=str(url) if url else None,
            progress=float(progress) if isinstance(progress, int | float) else None,
            error=str(error) if error and status == "failed" else None,
        )
