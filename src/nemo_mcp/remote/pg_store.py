"""The ``StateStore`` on PostgreSQL, shared by every worker of the deployment.

The same records and rules as ``SQLiteStore`` (store/sqlite.py), so the workflows cannot tell
them apart. Each method is one transaction; where two workers could race (adding a job while
another of its kind is active, claiming the next queued one) a transaction-scoped advisory lock
on the scope and kind puts them in line. The schema is created on first use under an advisory
lock, so workers starting together do not trip over each other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from nemo_mcp.remote.outage import Guard
from nemo_mcp.settings import Resilience
from nemo_mcp.store.base import Housekeeping, Retention
from nemo_mcp.store.records import (
    ACTIVE_STATES,
    FINISHED_STATES,
    JOB_COLUMNS,
    UPDATABLE,
    JobKind,
    JobRecord,
    JobState,
    RenderRecord,
    Scope,
    SessionRecord,
    TokenRecord,
    job_from_row,
    scope_args,
)

SCHEMA_LOCK = 0x6E656D6F  # "nemo"
SCHEMA = """
CREATE TABLE IF NOT EXISTS nemo_tokens (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, token TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL, client_id TEXT NOT NULL,
    PRIMARY KEY (backend, user_key));
CREATE TABLE IF NOT EXISTS nemo_leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS nemo_sessions (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    session_id TEXT NOT NULL, task_id TEXT NOT NULL, bind_id TEXT, language TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (backend, user_key, skill));
CREATE TABLE IF NOT EXISTS nemo_renders (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    session_id TEXT NOT NULL, render_id TEXT NOT NULL, draft_digest TEXT NOT NULL,
    submitted_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, url TEXT,
    polls INTEGER NOT NULL, PRIMARY KEY (backend, user_key, skill, session_id));
CREATE TABLE IF NOT EXISTS nemo_jobs (
    seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    kind TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL,
    request TEXT NOT NULL, result TEXT, error TEXT, message TEXT NOT NULL,
    percent DOUBLE PRECISION NOT NULL, reported BOOLEAN NOT NULL, owner TEXT,
    heartbeat_at DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS nemo_jobs_by_scope
    ON nemo_jobs (backend, user_key, skill, kind, status);
CREATE TABLE IF NOT EXISTS nemo_handoffs (
    job_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, digest TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL);
"""

SCOPE_WHERE = "backend = %s AND user_key = %s AND skill = %s"
ACTIVE = list(ACTIVE_STATES)
FINISHED = list(FINISHED_STATES)


async def _line_up(db: AsyncConnection[Any], scope: Scope, kind: str) -> None:
    """Hold, until the transaction ends, the lock of one scope's jobs of one kind."""
    name = "\x1f".join((*scope_args(scope), kind))
    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))


class PostgresStore:
    """The ``StateStore`` on a PostgreSQL database; safe for any number of workers."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 20,
        resilience: Resilience | None = None,
    ) -> None:
        # Bounded waits; a lost database becomes StoreUnavailable (remote/outage.py).
        self._pool = Guard(url, resilience or Resilience(), min_size=min_size, max_size=max_size)
        self._ready = False

    @property
    def reachable(self) -> bool:
        """Whether the last store call found the database (False during an outage)."""
        return self._pool.up

    async def open(self) -> PostgresStore:
        await self._pool.open()
        async with self._pool.connection() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await db.execute(SCHEMA)
        self._ready = True
        return self

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> Guard:
        """The connections, for the authorization server's records (remote/oauth/pg.py):
        bounded and worded during an outage like the store's own (remote/outage.py)."""
        return self._pool

    async def ping(self) -> bool:
        """Whether the database answers (readiness)."""
        try:
            async with self._pool.connection(timeout=2.0) as db:
                await db.execute("SELECT 1")
            return self._ready
        except Exception:
            return False

    # -- leases --------------------------------------------------------------------------
    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        now = time.time()
        async with self._pool.connection() as db:
            cur = await db.execute(
                "INSERT INTO nemo_leases (name, holder, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                "expires_at = EXCLUDED.expires_at "
                "WHERE nemo_leases.holder = EXCLUDED.holder OR nemo_leases.expires_at <= %s "
                "RETURNING name",
                (name, holder, now + ttl, now),
            )
            return await cur.fetchone() is not None

    async def release(self, name: str, holder: str) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "DELETE FROM nemo_leases WHERE name = %s AND holder = %s", (name, holder)
            )

    # -- tokens --------------------------------------------------------------------------
    async def token(self, backend: str, user: str) -> TokenRecord | None:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "SELECT token, expires_at, client_id FROM nemo_tokens "
                "WHERE backend = %s AND user_key = %s",
                (backend, user),
            )
            row = await cur.fetchone()
        return TokenRecord(row["token"], row["expires_at"], row["client_id"]) if row else None

    async def save_token(self, backend: str, user: str, record: TokenRecord | None) -> None:
        # One statement, idempotent: two sign-ins of one user at once both succeed.
        async with self._pool.connection() as db:
            if record is None:
                await db.execute(
                    "DELETE FROM nemo_tokens WHERE backend = %s AND user_key = %s", (backend, user)
                )
                return
            await db.execute(
                "INSERT INTO nemo_tokens VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (backend, user_key) DO UPDATE SET token = EXCLUDED.token, "
                "expires_at = EXCLUDED.expires_at, client_id = EXCLUDED.client_id",
                (backend, user, record.token, record.expires_at, record.client_id),
            )

    # -- sessions ------------------------------------------------------------------------
    async def session(self, scope: Scope) -> SessionRecord | None:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "SELECT session_id, task_id, bind_id, language, created_at FROM nemo_sessions "
                f"WHERE {SCOPE_WHERE}",
                scope_args(scope),
            )
            row = await cur.fetchone()
        return SessionRecord(**row) if row else None

    async def save_session(self, scope: Scope, record: SessionRecord | None) -> None:
        async with self._pool.connection() as db:
            if record is None:
                await db.execute(
                    f"DELETE FROM nemo_sessions WHERE {SCOPE_WHERE}", scope_args(scope)
                )
                return
            await db.execute(
                "INSERT INTO nemo_sessions VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (backend, user_key, skill) DO UPDATE SET "
                "session_id = EXCLUDED.session_id, task_id = EXCLUDED.task_id, "
                "bind_id = EXCLUDED.bind_id, language = EXCLUDED.language, "
                "created_at = EXCLUDED.created_at",
                (*scope_args(scope), record.session_id, record.task_id, record.bind_id,
                 record.language, record.created_at),
            )  # fmt: skip

    # -- renders -------------------------------------------------------------------------
    async def render(self, scope: Scope, session_id: str) -> RenderRecord | None:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "SELECT render_id, session_id, draft_digest, submitted_at, status, url, polls "
                f"FROM nemo_renders WHERE {SCOPE_WHERE} AND session_id = %s",
                (*scope_args(scope), session_id),
            )
            row = await cur.fetchone()
        return RenderRecord(**row) if row else None

    async def save_render(self, scope: Scope, record: RenderRecord) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO nemo_renders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (backend, user_key, skill, session_id) DO UPDATE SET "
                "render_id = EXCLUDED.render_id, draft_digest = EXCLUDED.draft_digest, "
                "submitted_at = EXCLUDED.submitted_at, status = EXCLUDED.status, "
                "url = EXCLUDED.url, polls = EXCLUDED.polls",
                (*scope_args(scope), record.session_id, record.render_id, record.draft_digest,
                 record.submitted_at, record.status, record.url, record.polls),
            )  # fmt: skip

    async def drop_render(self, scope: Scope, render_id: str) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                f"DELETE FROM nemo_renders WHERE {SCOPE_WHERE} AND render_id = %s",
                (*scope_args(scope), render_id),
            )

    # -- jobs ----------------------------------------------------------------------------
    async def add_job(
        self, record: JobRecord, *, serial: bool, join_unseen: bool = False
    ) -> tuple[JobRecord, bool]:
        scope = scope_args(record.scope)
        async with self._pool.connection() as db, db.transaction():
            await _line_up(db, record.scope, record.kind)
            cur = await db.execute(
                f"SELECT * FROM nemo_jobs WHERE {SCOPE_WHERE} AND kind = %s AND key = %s "
                "AND (status = ANY(%s) OR (%s AND NOT reported)) ORDER BY status = ANY(%s) "
                "DESC, CASE WHEN status = ANY(%s) THEN seq ELSE -seq END LIMIT 1",
                (*scope, record.kind, record.key, ACTIVE, join_unseen, ACTIVE, ACTIVE),
            )
            if (same := await cur.fetchone()) is not None:
                return job_from_row(same), True
            status, owner = record.status, record.owner
            if serial:
                cur = await db.execute(
                    f"SELECT 1 FROM nemo_jobs WHERE {SCOPE_WHERE} AND kind = %s "
                    "AND status = ANY(%s) LIMIT 1",
                    (*scope, record.kind, ACTIVE),
                )
                if await cur.fetchone():
                    status, owner = "queued", None
            values: dict[str, object] = {name: getattr(record, name) for name in JOB_COLUMNS}
            values.update(status=status, owner=owner)
            if status == "queued":
                values["started_at"] = None
            names = ", ".join(("backend", "user_key", "skill", *values))
            marks = ", ".join("%s" for _ in range(3 + len(values)))
            cur = await db.execute(
                f"INSERT INTO nemo_jobs ({names}) VALUES ({marks}) RETURNING *",
                (*scope, *values.values()),
            )
            row = await cur.fetchone()
            assert row is not None
            return job_from_row(row), False

    async def job(self, job_id: str) -> JobRecord | None:
        async with self._pool.connection() as db:
            cur = await db.execute("SELECT * FROM nemo_jobs WHERE id = %s", (job_id,))
            row = await cur.fetchone()
        return job_from_row(row) if row else None

    async def jobs(
        self,
        scope: Scope,
        *,
        kinds: Sequence[JobKind] = (),
        states: Sequence[JobState] = (),
        unreported: bool = False,
    ) -> list[JobRecord]:
        sql, args = f"SELECT * FROM nemo_jobs WHERE {SCOPE_WHERE}", list(scope_args(scope))
        if kinds:
            sql += " AND kind = ANY(%s)"
            args.append(list(kinds))  # type: ignore[arg-type]
        if states:
            sql += " AND status = ANY(%s)"
            args.append(list(states))  # type: ignore[arg-type]
        if unreported:
            sql += " AND NOT reported"
        async with self._pool.connection() as db:
            cur = await db.execute(sql + " ORDER BY seq", args)
            return [job_from_row(row) for row in await cur.fetchall()]

    async def update_job(self, job_id: str, **changes: object) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not job fields: {', '.join(sorted(unknown))}")
        if not changes:
            return
        assignments = ", ".join(f"{name} = %s" for name in changes)
        async with self._pool.connection() as db:
            await db.execute(
                f"UPDATE nemo_jobs SET {assignments} WHERE id = %s", (*changes.values(), job_id)
            )

    async def claim_next(self, scope: Scope, kind: JobKind, owner: str) -> JobRecord | None:
        args = (*scope_args(scope), kind)
        async with self._pool.connection() as db, db.transaction():
            await _line_up(db, scope, kind)
            cur = await db.execute(
                f"SELECT 1 FROM nemo_jobs WHERE {SCOPE_WHERE} AND kind = %s AND status = 'running'",
                args,
            )
            if await cur.fetchone():
                return None
            now = time.time()
            cur = await db.execute(
                "UPDATE nemo_jobs SET status = 'running', owner = %s, started_at = %s, "
                "heartbeat_at = %s WHERE seq = (SELECT seq FROM nemo_jobs "
                f"WHERE {SCOPE_WHERE} AND kind = %s AND status = 'queued' ORDER BY seq LIMIT 1) "
                "RETURNING *",
                (owner, now, now, *args),
            )
            row = await cur.fetchone()
            return job_from_row(row) if row else None

    async def adopt(self, job_id: str, owner: str, silent_since: float) -> JobRecord | None:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "UPDATE nemo_jobs SET owner = %s, heartbeat_at = %s WHERE id = %s "
                "AND status = 'running' AND heartbeat_at < %s AND owner IS DISTINCT FROM %s "
                "RETURNING *",
                (owner, time.time(), job_id, silent_since, owner),
            )
            row = await cur.fetchone()
        return job_from_row(row) if row else None

    async def take_unreported(
        self, scope: Scope, *, kinds: Sequence[JobKind] = (), ids: Sequence[str] = ()
    ) -> list[JobRecord]:
        sql = (
            f"UPDATE nemo_jobs SET reported = TRUE WHERE seq IN (SELECT seq FROM nemo_jobs "
            f"WHERE {SCOPE_WHERE} AND NOT reported AND status = ANY(%s)"
        )
        args: list[object] = [*scope_args(scope), FINISHED]
        if kinds:
            sql += " AND kind = ANY(%s)"
            args.append(list(kinds))
        if ids:
            sql += " AND id = ANY(%s)"
            args.append(list(ids))
        # FOR UPDATE: two workers taking at once hand each result out once between them.
        sql += " FOR UPDATE) AND NOT reported RETURNING *"
        async with self._pool.connection() as db:
            cur = await db.execute(sql, args)
            taken = [job_from_row(row) for row in await cur.fetchall()]
        return sorted(taken, key=lambda j: j.seq)

    # -- hand-offs -----------------------------------------------------------------------
    async def record_handoff(self, job_id: str, session_id: str, digest: str) -> bool:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "INSERT INTO nemo_handoffs VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (job_id) DO NOTHING RETURNING job_id",
                (job_id, session_id, digest, time.time()),
            )
            return await cur.fetchone() is not None

    async def handed_off(self, job_id: str) -> bool:
        async with self._pool.connection() as db:
            cur = await db.execute("SELECT 1 FROM nemo_handoffs WHERE job_id = %s", (job_id,))
            return await cur.fetchone() is not None

    # -- the deployment's own needs --------------------------------------------------------
    async def running_jobs(self) -> list[JobRecord]:
        """Every running job of every user (the sweep looks for ones whose worker died)."""
        async with self._pool.connection() as db:
            cur = await db.execute("SELECT * FROM nemo_jobs WHERE status = 'running' ORDER BY seq")
            return [job_from_row(row) for row in await cur.fetchall()]

    # -- housekeeping --------------------------------------------------------------------
    async def prune(self, retention: Retention, *, dry_run: bool = False) -> Housekeeping:
        now = time.time()
        rules: dict[str, tuple[str, tuple[object, ...]]] = {
            "jobs": (
                "FROM nemo_jobs WHERE status = ANY(%s) AND ((reported AND finished_at < %s) "
                "OR (NOT reported AND finished_at < %s))",
                (FINISHED, now - retention.reported_jobs_s, now - retention.unreported_jobs_s),
            ),
            "stuck_jobs": (
                "FROM nemo_jobs WHERE status = ANY(%s) AND heartbeat_at < %s AND created_at < %s",
                (ACTIVE, now - retention.stuck_jobs_s, now - retention.stuck_jobs_s),
            ),
            "renders": ("FROM nemo_renders WHERE submitted_at < %s", (now - retention.renders_s,)),
            "tokens": ("FROM nemo_tokens WHERE expires_at < %s", (now,)),
            "leases": ("FROM nemo_leases WHERE expires_at < %s", (now,)),
        }
        counts: dict[str, int] = {}
        async with self._pool.connection() as db, db.transaction():
            for name, (where, args) in rules.items():
                cur = await db.execute(f"SELECT COUNT(*) AS n {where}", args)
                row = await cur.fetchone()
                counts[name] = int(row["n"]) if row else 0
                if not dry_run:
                    await db.execute(f"DELETE {where}", args)
            if not dry_run:
                await db.execute(
                    "DELETE FROM nemo_handoffs WHERE job_id NOT IN (SELECT id FROM nemo_jobs)"
                )
        return Housekeeping(**counts)
