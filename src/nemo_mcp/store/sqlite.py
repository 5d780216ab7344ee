"""The default store: one SQLite file in the config folder (``state.db``), shared by processes.

Several servers (one per skill in one Claude Desktop) open the same file at once, so: WAL mode
(readers never wait for the writer), a busy timeout (writers queue instead of failing), and every
change in one ``BEGIN IMMEDIATE`` transaction (no read-modify-write between processes). The file
holds tokens, so it is created with mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same
mode). The schema and its migrations are in ``sqlite_schema``.

Calls run in a worker thread (a query may wait on another process's lock) over one connection
guarded by a lock. The file is opened on first use, not at start-up.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio

from nemo_mcp.store.base import Housekeeping, Retention
from nemo_mcp.store.lease import holder_is_gone
from nemo_mcp.store.records import (
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
from nemo_mcp.store.sqlite_schema import (
    ACTIVE_SQL,
    SCOPE_WHERE,
    migrate,
    placeholders,
    prune_rules,
    use_wal,
)

STATE_FILE = "state.db"
SECRET_MODE = 0o600
BUSY_TIMEOUT_S = 15.0
T = TypeVar("T")


class SQLiteStore:
    """The ``StateStore`` on one SQLite file; safe for several processes and tasks at once."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_folder(cls, config_dir: Path) -> SQLiteStore:
        return cls(config_dir / STATE_FILE)

    # -- plumbing ------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, SECRET_MODE)
        try:
            os.fchmod(fd, SECRET_MODE)
        finally:
            os.close(fd)
        db = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        use_wal(db, self._busy_timeout)
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db, self.path.parent)
        return db

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._db is None:
                self._db = self._open()
            return fn(self._db, *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(partial(self._locked, fn, *args))

    @staticmethod
    @contextlib.contextmanager
    def _write(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        def close() -> None:
            with self._lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None

        await anyio.to_thread.run_sync(close)

    # -- leases --------------------------------------------------------------------------
    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        def acquire(db: sqlite3.Connection) -> bool:
            now = time.time()
            with self._write(db):
                row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
                current = row.fetchone()
                if (
                    current
                    and current["holder"] != holder
                    and current["expires_at"] > now
                    and not holder_is_gone(current["holder"])  # killed holding it
                ):
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
                    (name, holder, now + ttl),
                )
                return True

        return await self._run(acquire)

    async def release(self, name: str, holder: str) -> None:
        def release(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

        await self._run(release)

    # -- tokens --------------------------------------------------------------------------
    async def token(self, backend: str, user: str) -> TokenRecord | None:
        def read(db: sqlite3.Connection) -> TokenRecord | None:
            row = db.execute(
                "SELECT token, expires_at, client_id FROM tokens "
                "WHERE backend = ? AND user_key = ?",
                (backend, user),
            ).fetchone()
            return TokenRecord(row["token"], row["expires_at"], row["client_id"]) if row else None

        return await self._run(read)

    async def save_token(self, backend: str, user: str, record: TokenRecord | None) -> None:
        def write(db: sqlite3.Connection) -> None:
            with self._write(db):  # one statement either way: no window between two
                if record is None:
                    db.execute(
                        "DELETE FROM tokens WHERE backend = ? AND user_key = ?", (backend, user)
                    )
                    return
                db.execute(
                    "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, ?)",
                    (backend, user, record.token, record.expires_at, record.client_id),
                )

        await self._run(write)

    # -- sessions ------------------------------------------------------------------------
    async def session(self, scope: Scope) -> SessionRecord | None:
        def read(db: sqlite3.Connection) -> SessionRecord | None:
            row = db.execute(
                "SELECT session_id, task_id, bind_id, language, created_at FROM sessions "
                f"WHERE {SCOPE_WHERE}",
                scope_args(scope),
            ).fetchone()
            return SessionRecord(*row) if row else None

        return await self._run(read)

    async def save_session(self, scope: Scope, record: SessionRecord | None) -> None:
        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                if record is None:
                    db.execute(f"DELETE FROM sessions WHERE {SCOPE_WHERE}", scope_args(scope))
                    return
                db.execute(
                    "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*scope_args(scope), record.session_id, record.task_id,
                     record.bind_id, record.language, record.created_at),
                )  # fmt: skip

        await self._run(write)

    # -- renders -------------------------------------------------------------------------
    async def render(self, scope: Scope, session_id: str) -> RenderRecord | None:
        def read(db: sqlite3.Connection) -> RenderRecord | None:
            row = db.execute(
                "SELECT render_id, session_id, draft_digest, submitted_at, status, url, polls "
                f"FROM renders WHERE {SCOPE_WHERE} AND session_id = ?",
                (*scope_args(scope), session_id),
            ).fetchone()
            return RenderRecord(*row) if row else None

        return await self._run(read)

    async def save_render(self, scope: Scope, record: RenderRecord) -> None:
        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(
                    "INSERT OR REPLACE INTO renders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*scope_args(scope), record.session_id, record.render_id,
                     record.draft_digest, record.submitted_at, record.status, record.url,
                     record.polls),
                )  # fmt: skip

        await self._run(write)

    async def drop_render(self, scope: Scope, render_id: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(
                    f"DELETE FROM renders WHERE {SCOPE_WHERE} AND render_id = ?",
                    (*scope_args(scope), render_id),
                )

        await self._run(write)

    # -- jobs ----------------------------------------------------------------------------
    async def add_job(
        self, record: JobRecord, *, serial: bool, join_unseen: bool = False
    ) -> tuple[JobRecord, bool]:
        def add(db: sqlite3.Connection) -> tuple[JobRecord, bool]:
            scope = scope_args(record.scope)
            with self._write(db):
                active = f"status IN {ACTIVE_SQL}"
                same = db.execute(
                    f"SELECT * FROM jobs WHERE {SCOPE_WHERE} AND kind = ? AND key = ? "
                    f"AND ({active} OR (? AND NOT reported)) "
                    f"ORDER BY {active} DESC, CASE WHEN {active} THEN seq ELSE -seq END LIMIT 1",
                    (*scope, record.kind, record.key, int(join_unseen)),
                ).fetchone()
                if same is not None:
                    return job_from_row(same), True
                status, owner = record.status, record.owner
                if (
                    serial
                    and db.execute(
                        f"SELECT 1 FROM jobs WHERE {SCOPE_WHERE} AND kind = ? "
                        f"AND status IN {ACTIVE_SQL} LIMIT 1",
                        (*scope, record.kind),
                    ).fetchone()
                ):
                    status, owner = "queued", None
                values = {name: getattr(record, name) for name in JOB_COLUMNS}
                values.update(status=status, owner=owner, reported=int(record.reported))
                if status == "queued":
                    values["started_at"] = None
                names = ", ".join(("backend", "user_key", "skill", *values))
                cursor = db.execute(
                    f"INSERT INTO jobs ({names}) VALUES {placeholders([*scope, *values])}",
                    (*scope, *values.values()),
                )
                row = db.execute("SELECT * FROM jobs WHERE seq = ?", (cursor.lastrowid,))
                return job_from_row(row.fetchone()), False

        return await self._run(add)

    async def job(self, job_id: str) -> JobRecord | None:
        def read(db: sqlite3.Connection) -> JobRecord | None:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return job_from_row(row) if row else None

        return await self._run(read)

    async def jobs(
        self,
        scope: Scope,
        *,
        kinds: Sequence[JobKind] = (),
        states: Sequence[JobState] = (),
        unreported: bool = False,
    ) -> list[JobRecord]:
        def read(db: sqlite3.Connection) -> list[JobRecord]:
            sql, args = f"SELECT * FROM jobs WHERE {SCOPE_WHERE}", list(scope_args(scope))
            if kinds:
                sql += f" AND kind IN {placeholders(kinds)}"
                args += kinds
            if states:
                sql += f" AND status IN {placeholders(states)}"
                args += states
            if unreported:
                sql += " AND reported = 0"
            return [job_from_row(row) for row in db.execute(sql + " ORDER BY seq", args)]

        return await self._run(read)

    async def update_job(self, job_id: str, **changes: object) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not job fields: {', '.join(sorted(unknown))}")

        def write(db: sqlite3.Connection) -> None:
            values = {k: int(v) if isinstance(v, bool) else v for k, v in changes.items()}
            assignments = ", ".join(f"{name} = ?" for name in values)
            with self._write(db):
                db.execute(
                    f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id)
                )

        if changes:
            await self._run(write)

    async def claim_next(self, scope: Scope, kind: JobKind, owner: str) -> JobRecord | None:
        def claim(db: sqlite3.Connection) -> JobRecord | None:
            args = (*scope_args(scope), kind)
            with self._write(db):
                if db.execute(
                    f"SELECT 1 FROM jobs WHERE {SCOPE_WHERE} AND kind = ? AND status = 'running'",
                    args,
                ).fetchone():
                    return None
                row = db.execute(
                    f"SELECT seq FROM jobs WHERE {SCOPE_WHERE} AND kind = ? AND status = 'queued' "
                    "ORDER BY seq LIMIT 1",
                    args,
                ).fetchone()
                if row is None:
                    return None
                now = time.time()
                db.execute(
                    "UPDATE jobs SET status = 'running', owner = ?, started_at = ?, "
                    "heartbeat_at = ? WHERE seq = ?",
                    (owner, now, now, row["seq"]),
                )
                return job_from_row(
                    db.execute("SELECT * FROM jobs WHERE seq = ?", (row["seq"],)).fetchone()
                )

        return await self._run(claim)

    async def adopt(self, job_id: str, owner: str, silent_since: float) -> JobRecord | None:
        def adopt(db: sqlite3.Connection) -> JobRecord | None:
            with self._write(db):
                cursor = db.execute(
                    "UPDATE jobs SET owner = ?, heartbeat_at = ? WHERE id = ? "
                    "AND status = 'running' AND heartbeat_at < ? AND owner IS NOT ?",
                    (owner, time.time(), job_id, silent_since, owner),
                )
                if cursor.rowcount != 1:
                    return None
                return job_from_row(
                    db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
                )

        return await self._run(adopt)

    async def take_unreported(
        self, scope: Scope, *, kinds: Sequence[JobKind] = (), ids: Sequence[str] = ()
    ) -> list[JobRecord]:
        def take(db: sqlite3.Connection) -> list[JobRecord]:
            sql = (
                f"SELECT * FROM jobs WHERE {SCOPE_WHERE} AND reported = 0 "
                f"AND status IN {placeholders(FINISHED_STATES)}"
            )
            args: list[object] = [*scope_args(scope), *FINISHED_STATES]
            if kinds:
                sql += f" AND kind IN {placeholders(kinds)}"
                args += kinds
            if ids:
                sql += f" AND id IN {placeholders(ids)}"
                args += ids
            with self._write(db):
                taken = [job_from_row(row) for row in db.execute(sql + " ORDER BY seq", args)]
                db.executemany(
                    "UPDATE jobs SET reported = 1 WHERE seq = ?", [(j.seq,) for j in taken]
                )
            return taken

        return await self._run(take)

    # -- hand-offs -----------------------------------------------------------------------
    async def record_handoff(self, job_id: str, session_id: str, digest: str) -> bool:
        def record(db: sqlite3.Connection) -> bool:
            with self._write(db):
                cursor = db.execute(
                    "INSERT OR IGNORE INTO handoffs VALUES (?, ?, ?, ?)",
                    (job_id, session_id, digest, time.time()),
                )
                return cursor.rowcount == 1

        return await self._run(record)

    async def handed_off(self, job_id: str) -> bool:
        def read(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT 1 FROM handoffs WHERE job_id = ?", (job_id,)).fetchone()
            return row is not None

        return await self._run(read)

    # -- housekeeping --------------------------------------------------------------------
    async def prune(self, retention: Retention, *, dry_run: bool = False) -> Housekeeping:
        def prune(db: sqlite3.Connection) -> Housekeeping:
            rules = prune_rules(retention, time.time())
            counts: dict[str, int] = {}
            with self._write(db):
                for name, (where, args) in rules.items():
                    counts[name] = db.execute(f"SELECT COUNT(*) {where}", args).fetchone()[0]
                    if not dry_run:
                        db.execute(f"DELETE {where}", args)
                if not dry_run:
                    db.execute("DELETE FROM handoffs WHERE job_id NOT IN (SELECT id FROM jobs)")
            return Housekeeping(**counts)

        return cast(Housekeeping, await self._run(prune))
