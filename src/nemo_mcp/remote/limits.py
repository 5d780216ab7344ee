"""Per-user limits shared by every worker: requests per minute, and jobs at once.

- **Requests per minute** (``NEMO_USER_RPM``): one counter row per user and minute in
  PostgreSQL, bumped with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per request, so
  every worker counts into the same row and no read-then-write can race. Past the limit a request
  is a 429 with ``Retry-After`` (the seconds to the next minute) and words. Without PostgreSQL
  (one worker on SQLite) the count is kept in memory. If the database does not answer, the
  request is let through: the limit must not turn an outage into a second one.
- **Jobs at once** (``NEMO_USER_JOBS``): before a *new* job is recorded, the user's active jobs
  are counted in the shared store; at the limit the tool answers in words (a tool result has no
  HTTP status; a 429 would turn a "status" question into a transport failure). Joining a job
  already running is never refused. Two new jobs asked for in the same instant on two workers
  can both pass the count: the limit is a guard against floods, not an exact quota.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from nemo_mcp.errors import InputError
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, StateStore
from nemo_mcp.store.records import ACTIVE_STATES

log = logging.getLogger(__name__)

WINDOW_S = 60
PRUNE_EVERY_S = 60.0
ASK_TIMEOUT_S = 2.0
SCHEMA_LOCK = 0x6E656D6F  # the same lock as pg_store's schema
AWAY_S = 10.0
"""After the database did not answer, requests go uncounted this long instead of each waiting."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS nemo_request_counts (
    user_key TEXT NOT NULL, minute BIGINT NOT NULL, hits INTEGER NOT NULL,
    PRIMARY KEY (user_key, minute));
"""


def too_many_requests(rpm: int, wait_s: int) -> str:
    return (
        f"Too many requests: this server takes {rpm} a minute from one user. Wait {wait_s} "
        "seconds and try again; nothing was lost."
    )


def too_many_jobs(limit: int) -> str:
    return (
        f"You already have {limit} jobs running on this server, the most one user may have at "
        "once. Ask for 'status' (send_edit) or call get_timeline to see them finish, then try "
        "again; nothing was lost."
    )


def seconds_left(now: float) -> int:
    """Whole seconds to the next minute's window (at least 1)."""
    return max(1, math.ceil(WINDOW_S - now % WINDOW_S))


class Counter(Protocol):
    async def hit(self, user_key: str, now: float) -> int | None:
        """This minute's requests of ``user_key``, this one included; None when unknown."""
        ...


@dataclass
class MemoryCounter:
    """One worker's count (SQLite mode, unit tests)."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)

    async def hit(self, user_key: str, now: float) -> int | None:
        minute = int(now // WINDOW_S)
        for old in [k for k in self.counts if k[1] < minute]:
            del self.counts[old]
        self.counts[user_key, minute] = hits = self.counts.get((user_key, minute), 0) + 1
        return hits


async def open_pool(url: str) -> Any:
    """A small pool of this worker's own for the limits and the metrics, apart from the
    store's, so a flood of requests cannot starve the jobs of connections."""
    from psycopg_pool import AsyncConnectionPool

    pool: Any = AsyncConnectionPool(
        url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    return pool


class PostgresCounter:
    """Every worker's count in one row per user and minute."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._pruned = 0.0
        self._away_until = 0.0

    async def open(self) -> PostgresCounter:
        # Under the schema's advisory lock: workers starting together would otherwise race
        # CREATE TABLE IF NOT EXISTS into a UniqueViolation and fail their start.
        async with self.pool.connection() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await db.execute(SCHEMA)
        return self

    async def hit(self, user_key: str, now: float) -> int | None:
        minute = int(now // WINDOW_S)
        if time.monotonic() < self._away_until:
            return None  # the database was away a moment ago: do not make every request wait
        try:
            async with self.pool.connection(timeout=ASK_TIMEOUT_S) as db:
                cur = await db.execute(
                    "INSERT INTO nemo_request_counts (user_key, minute, hits) VALUES (%s, %s, 1) "
                    "ON CONFLICT (user_key, minute) DO UPDATE "
                    "SET hits = nemo_request_counts.hits + 1 RETURNING hits",
                    (user_key, minute),
                )
                row = await cur.fetchone()
                if now - self._pruned > PRUNE_EVERY_S:
                    self._pruned = now
                    await db.execute(
                        "DELETE FROM nemo_request_counts WHERE minute < %s", (minute - 1,)
                    )
        except Exception as exc:  # the database is away: let the request meet the outage
            log.debug("the request count is unknown: %s", type(exc).__name__)
            self._away_until = time.monotonic() + AWAY_S
            return None
        if row is None:
            return None
        hits = row["hits"] if isinstance(row, dict) else row[0]
        return int(hits)


@dataclass
class Limits:
    """The two limits of one worker (0: no limit)."""

    rpm: int
    jobs: int
    counter: Counter
    store: StateStore
    pool: Any = None
    """The worker's small PostgreSQL pool (None on SQLite); the metrics read through it too."""
    refused: dict[str, int] = field(default_factory=lambda: {"requests": 0, "jobs": 0})

    async def request(self, user_key: str, now: float | None = None) -> tuple[int, str] | None:
        """None if the request may go on, else (Retry-After seconds, the words)."""
        if not self.rpm:
            return None
        now = time.time() if now is None else now
        hits = await self.counter.hit(user_key, now)
        if hits is None or hits <= self.rpm:
            return None
        self.refused["requests"] += 1
        wait = seconds_left(now)
        return wait, too_many_requests(self.rpm, wait)

    async def admit(self, scope: Scope, kind: str, key: str) -> None:
        """Before a job is recorded: refused in words when the user has ``jobs`` active ones,
        unless this one joins one of them."""
        if not self.jobs:
            return
        active = await self.store.jobs(scope, states=ACTIVE_STATES)
        if any(j.kind == kind and j.key == key for j in active):
            return
        if len(active) >= self.jobs:
            self.refused["jobs"] += 1
            raise InputError(too_many_jobs(self.jobs))


async def open_limits(settings: Settings, store: StateStore, stack: AsyncExitStack) -> Limits:
    """The worker's limits, counted in PostgreSQL when there is one (closed with ``stack``)."""
    counter: Counter = MemoryCounter()
    pool = None
    if settings.database_url:
        pool = await open_pool(settings.database_url)
        stack.push_async_callback(pool.close)
        counter = await PostgresCounter(pool).open()
    return Limits(settings.user_rpm, settings.user_jobs, counter, store, pool)
