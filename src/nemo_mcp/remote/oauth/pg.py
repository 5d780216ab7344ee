"""The authorization server's records in PostgreSQL, shared by every worker.

It borrows the pool of the deployment's ``PostgresStore`` (no second pool per worker) and
creates its two tables on first use, under the same advisory lock as the rest of the schema.
"""

from __future__ import annotations

import time

from nemo_mcp.remote.oauth.records import Kind, Row
from nemo_mcp.remote.outage import Guard

SCHEMA_LOCK = 0x6E656D6F  # the same lock as pg_store's schema
SCHEMA = """
CREATE TABLE IF NOT EXISTS nemo_oauth (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, family TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL, used BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS nemo_oauth_by_family ON nemo_oauth (family);
CREATE TABLE IF NOT EXISTS nemo_oauth_attempts (
    name TEXT PRIMARY KEY, window_start DOUBLE PRECISION NOT NULL, count INTEGER NOT NULL);
"""

Pool = Guard
"""The store's pool, guarded: bounded waits, a lost database is ``StoreUnavailable``."""


class PostgresOAuthStore:
    """``OAuthStore`` on the deployment's database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def open(self) -> PostgresOAuthStore:
        async with self._pool.connection() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await db.execute(SCHEMA)
        return self

    async def put(self, kind: Kind, key: str, row: Row) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO nemo_oauth VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET body = EXCLUDED.body, "
                "family = EXCLUDED.family, expires_at = EXCLUDED.expires_at, "
                "used = EXCLUDED.used",
                (kind, key, row.body, row.family, row.expires_at, row.used),
            )

    async def get(self, kind: Kind, key: str) -> Row | None:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "SELECT body, family, expires_at, used FROM nemo_oauth "
                "WHERE kind = %s AND key = %s",
                (kind, key),
            )
            found = await cur.fetchone()
        if found is None:
            return None
        return Row(found["body"], found["family"], found["expires_at"], found["used"])

    async def use(self, kind: Kind, key: str) -> bool:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "UPDATE nemo_oauth SET used = TRUE WHERE kind = %s AND key = %s AND NOT used "
                "RETURNING key",
                (kind, key),
            )
            return await cur.fetchone() is not None

    async def drop(self, kind: Kind, key: str) -> None:
        async with self._pool.connection() as db:
            await db.execute("DELETE FROM nemo_oauth WHERE kind = %s AND key = %s", (kind, key))

    async def drop_family(self, family: str) -> int:
        async with self._pool.connection() as db:
            cur = await db.execute(
                "DELETE FROM nemo_oauth WHERE family = %s AND kind IN "
                "('code', 'access', 'refresh')",
                (family,),
            )
            return cur.rowcount

    async def hit(self, name: str, window_s: float) -> int:
        now = time.time()
        async with self._pool.connection() as db:
            cur = await db.execute(
                "INSERT INTO nemo_oauth_attempts VALUES (%s, %s, 1) ON CONFLICT (name) DO UPDATE "
                "SET count = CASE WHEN nemo_oauth_attempts.window_start <= %s THEN 1 "
                "ELSE nemo_oauth_attempts.count + 1 END, "
                "window_start = CASE WHEN nemo_oauth_attempts.window_start <= %s THEN %s "
                "ELSE nemo_oauth_attempts.window_start END RETURNING count",
                (name, now, now - window_s, now - window_s, now),
            )
            found = await cur.fetchone()
        return int(found["count"]) if found else 1

    async def prune(self) -> int:
        now = time.time()
        async with self._pool.connection() as db, db.transaction():
            cur = await db.execute("DELETE FROM nemo_oauth WHERE expires_at < %s", (now,))
            await db.execute(
                "DELETE FROM nemo_oauth_attempts WHERE window_start < %s", (now - 86400,)
            )
            return cur.rowcount

    async def close(self) -> None:
        """The pool belongs to the deployment's store, which closes it."""
