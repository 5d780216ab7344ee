"""Where the authorization server keeps its records: the interface, and SQLite for try-out.

Five kinds of record (records.Kind) in one table, each under the SHA-256 of its secret (a
client under its id), and the counters of the sign-in rate limit. PostgreSQL (pg.py) shares them
between workers; SQLite (here, a file beside ``state.db``) serves the one-worker try-out mode.
Every method is one transaction; ``use`` and ``hit`` are atomic, so two workers redeeming the same
code, or counting the same address, cannot both win.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

import anyio

from nemo_mcp.remote.oauth.records import Kind, Row

OAUTH_FILE = "oauth.db"
SECRET_MODE = 0o600
T = TypeVar("T")


class OAuthStore(Protocol):
    async def put(self, kind: Kind, key: str, row: Row) -> None:
        """Add or replace a record."""
        ...

    async def get(self, kind: Kind, key: str) -> Row | None: ...

    async def use(self, kind: Kind, key: str) -> bool:
        """Mark a single-use record used; False when it was used already (or is gone)."""
        ...

    async def drop(self, kind: Kind, key: str) -> None: ...

    async def drop_family(self, family: str) -> int:
        """Remove every code and token of one sign-in; how many there were."""
        ...

    async def hit(self, name: str, window_s: float) -> int:
        """Count one attempt under ``name``: the count in the current window, this one included."""
        ...

    async def prune(self) -> int:
        """Remove what has expired."""
        ...

    async def close(self) -> None: ...


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_records (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, family TEXT NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS oauth_records_by_family ON oauth_records (family);
CREATE TABLE IF NOT EXISTS oauth_attempts (
    name TEXT PRIMARY KEY, window_start REAL NOT NULL, count INTEGER NOT NULL);
"""


class SQLiteOAuthStore:
    """The records in one SQLite file (mode 0600), for ``serve --http`` without PostgreSQL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_folder(cls, folder: Path) -> SQLiteOAuthStore:
        return cls(folder / OAUTH_FILE)

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, SECRET_MODE)
            os.close(fd)
            db = sqlite3.connect(
                self.path, timeout=15, isolation_level=None, check_same_thread=False
            )
            db.executescript(SQLITE_SCHEMA)
            self._db = db
        return self._db

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            db = self._open()
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(partial(self._run, fn))

    async def put(self, kind: Kind, key: str, row: Row) -> None:
        await self._call(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO oauth_records VALUES (?, ?, ?, ?, ?, ?)",
                (kind, key, row.body, row.family, row.expires_at, int(row.used)),
            )
        )

    async def get(self, kind: Kind, key: str) -> Row | None:
        def read(db: sqlite3.Connection) -> Row | None:
            found = db.execute(
                "SELECT body, family, expires_at, used FROM oauth_records "
                "WHERE kind = ? AND key = ?",
                (kind, key),
            ).fetchone()
            return Row(found[0], found[1], found[2], bool(found[3])) if found else None

        return await self._call(read)

    async def use(self, kind: Kind, key: str) -> bool:
        def mark(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE oauth_records SET used = 1 WHERE kind = ? AND key = ? AND used = 0",
                (kind, key),
            )
            return cur.rowcount == 1

        return await self._call(mark)

    async def drop(self, kind: Kind, key: str) -> None:
        await self._call(
            lambda db: db.execute(
                "DELETE FROM oauth_records WHERE kind = ? AND key = ?", (kind, key)
            )
        )

    async def drop_family(self, family: str) -> int:
        def drop(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "DELETE FROM oauth_records WHERE family = ? AND kind IN "
                "('code', 'access', 'refresh')",
                (family,),
            )
            return cur.rowcount

        return await self._call(drop)

    async def hit(self, name: str, window_s: float) -> int:
        now = time.time()

        def count(db: sqlite3.Connection) -> int:
            db.execute(
                "INSERT INTO oauth_attempts VALUES (?, ?, 1) ON CONFLICT (name) DO UPDATE SET "
                "count = CASE WHEN window_start <= ? THEN 1 ELSE count + 1 END, "
                "window_start = CASE WHEN window_start <= ? THEN ? ELSE window_start END",
                (name, now, now - window_s, now - window_s, now),
            )
            found = db.execute(
                "SELECT count FROM oauth_attempts WHERE name = ?", (name,)
            ).fetchone()
            return int(found[0])

        return await self._call(count)

    async def prune(self) -> int:
        now = time.time()

        def prune(db: sqlite3.Connection) -> int:
            gone = db.execute("DELETE FROM oauth_records WHERE expires_at < ?", (now,)).rowcount
            db.execute("DELETE FROM oauth_attempts WHERE window_start < ?", (now - 86400,))
            return gone

        return await self._call(prune)

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
