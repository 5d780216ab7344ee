"""What the store keeps: small immutable records, the same for every store implementation.

Records are scoped: a token or a session of the embedded backend means nothing to the cloud
(``Scope.backend``), a shared server keeps each user apart (``Scope.user``), and each skill keeps
its own project (``Scope.skill``). Job requests and results are JSON text here; the job layer
gives them their types.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JobKind = Literal["edit", "export", "upload"]
JobState = Literal["queued", "running", "done", "failed", "interrupted", "cancelled"]
ACTIVE_STATES: tuple[JobState, ...] = ("queued", "running")
FINISHED_STATES: tuple[JobState, ...] = ("done", "failed", "interrupted", "cancelled")
RenderState = Literal["submitted", "completed"]

TOKEN_MARGIN_S = 300.0
"""A token this close to its expiry is renewed first, so it cannot expire mid-request."""


@dataclass(frozen=True)
class Scope:
    """Whose records: which backend, which user of it, which skill's project."""

    backend: str
    """The backend's identity: its API URL, or ``local`` for the embedded backend."""
    user: str = ""
    """``""`` for the one person of a stdio server; a user key on a shared server."""
    skill: str = ""


@dataclass(frozen=True)
class TokenRecord:
    """A cached anonymous token. It is a secret: its repr hides it."""

    token: str = field(repr=False)
    expires_at: float
    client_id: str

    def valid(self, now: float | None = None, margin: float = TOKEN_MARGIN_S) -> bool:
        return (time.time() if now is None else now) + margin < self.expires_at


@dataclass(frozen=True)
class SessionRecord:
    """A skill's project on the backend, remembered so a restarted server continues it."""

    session_id: str
    task_id: str
    bind_id: str | None = None
    language: str = "en"
    created_at: float = 0.0


@dataclass(frozen=True)
class RenderRecord:
    """An export render, recorded before it is submitted so it is never submitted twice.

    ``completed`` with a ``url`` but no saved file means the download failed: the next export
    saves it without rendering again, as long as the draft is the same (``draft_digest``).
    """

    render_id: str
    session_id: str
    draft_digest: str
    submitted_at: float
    status: RenderState = "submitted"
    url: str | None = None
    polls: int = 0


@dataclass(frozen=True)
class JobRecord:
    """Long work (an edit, an export, an upload) on record, so no result is lost or repeated.

    ``owner`` is the process running it and ``heartbeat_at`` when that process last said so; a
    job whose owner stopped heartbeating is taken over or reported as interrupted.
    """

    id: str
    scope: Scope
    kind: JobKind
    key: str
    label: str
    status: JobState = "queued"
    request: str = "{}"
    result: str | None = None
    error: str | None = None
    message: str = ""
    percent: float = 0.0
    reported: bool = False
    owner: str | None = None
    heartbeat_at: float = 0.0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    seq: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATES

    @property
    def elapsed(self) -> float:
        start = self.started_at or self.created_at
        return max(0.0, (self.finished_at or time.time()) - start)


# How a JobRecord is stored, for every store (SQLite and PostgreSQL alike).
JOB_COLUMNS = (
    "id", "kind", "key", "label", "status", "request", "result", "error", "message", "percent",
    "reported", "owner", "heartbeat_at", "created_at", "started_at", "finished_at",
)  # fmt: skip
"""A job's stored fields besides its scope (three columns) and its ``seq``."""
UPDATABLE = frozenset(JOB_COLUMNS) - {"id", "kind", "key"}


def scope_args(scope: Scope) -> tuple[str, str, str]:
    """The scope as its three columns: backend, user_key, skill."""
    return scope.backend, scope.user, scope.skill


def job_from_row(row: Mapping[str, Any]) -> JobRecord:
    """A stored row (any mapping of column names) as a record."""
    fields = {name: row[name] for name in JOB_COLUMNS}
    fields["reported"] = bool(fields["reported"])
    return JobRecord(
        scope=Scope(row["backend"], row["user_key"], row["skill"]), seq=row["seq"], **fields
    )
