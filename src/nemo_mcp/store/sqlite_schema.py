"""The SQLite store's schema, its migrations, its journal mode and how a row becomes a record.

The schema has a version (``PRAGMA user_version``) and a list of migrations, each run once in its
own ``BEGIN IMMEDIATE`` transaction, so two processes opening a fresh folder at once migrate it
once. The first migration imports the JSON files earlier versions kept (``legacy.py``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nemo_mcp.store import legacy
from nemo_mcp.store.base import Retention
from nemo_mcp.store.records import ACTIVE_STATES, FINISHED_STATES

SCHEMA_V1 = """
CREATE TABLE tokens (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, token TEXT NOT NULL,
    expires_at REAL NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (backend, user_key));
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE sessions (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    session_id TEXT NOT NULL, task_id TEXT NOT NULL, bind_id TEXT, language TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (backend, user_key, skill));
CREATE TABLE renders (
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    session_id TEXT NOT NULL, render_id TEXT NOT NULL, draft_digest TEXT NOT NULL,
    submitted_at REAL NOT NULL, status TEXT NOT NULL, url TEXT, polls INTEGER NOT NULL,
    PRIMARY KEY (backend, user_key, skill, session_id));
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    backend TEXT NOT NULL, user_key TEXT NOT NULL, skill TEXT NOT NULL,
    kind TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL,
    request TEXT NOT NULL, result TEXT, error TEXT, message TEXT NOT NULL,
    percent REAL NOT NULL, reported INTEGER NOT NULL, owner TEXT, heartbeat_at REAL NOT NULL,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL);
CREATE INDEX jobs_by_scope ON jobs (backend, user_key, skill, kind, status);
CREATE TABLE handoffs (
    job_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, digest TEXT NOT NULL,
    sent_at REAL NOT NULL);
"""

SCOPE_WHERE = "backend = ? AND user_key = ? AND skill = ?"
ACTIVE_SQL = "('queued', 'running')"


def placeholders(values: Sequence[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


def _create_v1(db: sqlite3.Connection, config_dir: Path) -> None:
    for statement in SCHEMA_V1.split(";"):
        if statement.strip():
            db.execute(statement)
    legacy.import_json(db, config_dir)


MIGRATIONS: tuple[Callable[[sqlite3.Connection, Path], None], ...] = (_create_v1,)
"""Schema version N is reached by running MIGRATIONS[N - 1]; append, never edit."""


def migrate(db: sqlite3.Connection, config_dir: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                db.execute("COMMIT")
                continue
            migration(db, config_dir)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    legacy.remove_imported(config_dir)


def prune_rules(retention: Retention, now: float) -> dict[str, tuple[str, tuple[object, ...]]]:
    """What ``prune`` counts and deletes, per table: a ``FROM ... WHERE`` clause and its args."""
    finished = placeholders(FINISHED_STATES)
    return {
        "jobs": (
            f"FROM jobs WHERE status IN {finished} AND "
            "((reported = 1 AND finished_at < ?) OR (reported = 0 AND finished_at < ?))",
            (
                *FINISHED_STATES,
                now - retention.reported_jobs_s,
                now - retention.unreported_jobs_s,
            ),
        ),  # fmt: skip
        "stuck_jobs": (
            f"FROM jobs WHERE status IN {placeholders(ACTIVE_STATES)} AND heartbeat_at < ? "
            "AND created_at < ?",
            (*ACTIVE_STATES, now - retention.stuck_jobs_s, now - retention.stuck_jobs_s),
        ),
        "renders": ("FROM renders WHERE submitted_at < ?", (now - retention.renders_s,)),
        "tokens": ("FROM tokens WHERE expires_at < ?", (now,)),
        "leases": ("FROM leases WHERE expires_at < ?", (now,)),
    }


WAL_RETRY_S = 0.02


def use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL. Several processes opening a fresh file race for the switch, and SQLite
    answers the loser "database is locked" at once, without its busy handler: wait here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)
