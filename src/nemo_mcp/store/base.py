"""The store interface: what the workflows need to remember, whatever keeps it.

``SQLiteStore`` (the config folder's ``state.db``) is the default for a stdio server; a
server-grade implementation (PostgreSQL, for the shared deployment) plugs in by providing the
same methods. Every method is one transaction: several processes (one per skill, or the workers
of a shared server) use one store at once, and nothing is read-modified-written outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from nemo_mcp.store.records import (
    JobKind,
    JobRecord,
    JobState,
    RenderRecord,
    Scope,
    SessionRecord,
    TokenRecord,
)

DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class Retention:
    """How long records are kept (docs/STATE.md explains each)."""

    reported_jobs_s: float = 7 * DAY_S
    """A finished job that was reported."""
    unreported_jobs_s: float = 30 * DAY_S
    """A finished job nobody asked about: the result waits this long."""
    stuck_jobs_s: float = DAY_S
    """An active job with no heartbeat for this long is stuck (its process is gone)."""
    renders_s: float = 3 * DAY_S
    """A render record: the backend's download links do not last longer."""


@dataclass(frozen=True)
class Housekeeping:
    """What ``prune`` removed, or what ``inspect`` found (stale records first)."""

    jobs: int = 0
    stuck_jobs: int = 0
    renders: int = 0
    tokens: int = 0
    leases: int = 0

    @property
    def total(self) -> int:
        return self.jobs + self.stuck_jobs + self.renders + self.tokens + self.leases


class StateStore(Protocol):
    """Tokens, sessions, render records, job records and message hand-offs."""

    async def close(self) -> None: ...

    # One process at a time: the first fetches a token or makes a session, the others wait.
    # A lease is held until released or ``ttl`` runs out; the SQLite store also hands over one
    # whose holder's process (``host:pid:nonce``, on this host) is gone, killed holding it.
    async def acquire(self, name: str, holder: str, ttl: float) -> bool: ...
    async def release(self, name: str, holder: str) -> None: ...

    async def token(self, backend: str, user: str) -> TokenRecord | None: ...
    async def save_token(self, backend: str, user: str, record: TokenRecord | None) -> None: ...

    async def session(self, scope: Scope) -> SessionRecord | None: ...
    async def save_session(self, scope: Scope, record: SessionRecord | None) -> None: ...

    async def render(self, scope: Scope, session_id: str) -> RenderRecord | None: ...
    async def save_render(self, scope: Scope, record: RenderRecord) -> None: ...
    async def drop_render(self, scope: Scope, render_id: str) -> None: ...

    async def add_job(
        self, record: JobRecord, *, serial: bool, join_unseen: bool = False
    ) -> tuple[JobRecord, bool]:
        """The active job of the same scope, kind and key (joined: True), or ``record`` added.

        With ``join_unseen``, the latest finished one nobody was told of is joined too: the same
        check-and-add as the active one, so a job ending just as it is asked for again is handed
        out, never done twice (an export rendered twice is charged twice).
        With ``serial``, a new job waits (``queued``) while another of its kind is active."""
        ...

    async def job(self, job_id: str) -> JobRecord | None: ...
    async def jobs(
        self,
        scope: Scope,
        *,
        kinds: Sequence[JobKind] = (),
        states: Sequence[JobState] = (),
        unreported: bool = False,
    ) -> list[JobRecord]:
        """Matching jobs of ``scope``, oldest first."""
        ...

    async def update_job(self, job_id: str, **changes: object) -> None: ...
    async def claim_next(self, scope: Scope, kind: JobKind, owner: str) -> JobRecord | None:
        """The oldest queued job of ``kind``, now running for ``owner``; None while one runs."""
        ...

    async def adopt(self, job_id: str, owner: str, silent_since: float) -> JobRecord | None:
        """Take over a running job whose owner has not heartbeated since ``silent_since``."""
        ...

    async def take_unreported(
        self, scope: Scope, *, kinds: Sequence[JobKind] = (), ids: Sequence[str] = ()
    ) -> list[JobRecord]:
        """Finished, unreported jobs, now marked reported: each is handed out exactly once."""
        ...

    async def record_handoff(self, job_id: str, session_id: str, digest: str) -> bool:
        """Record that a message goes to the backend; False when it already went once."""
        ...

    async def handed_off(self, job_id: str) -> bool: ...

    async def prune(self, retention: Retention, *, dry_run: bool = False) -> Housekeeping: ...
