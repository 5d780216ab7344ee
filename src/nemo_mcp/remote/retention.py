"""Files in ``NEMO_REMOTE_DIR`` go when their records go, and never fill the disk.

**Pruning** (``prune_files``), by the rules of ``store.Retention`` (docs/STATE.md): an upload or
an export older than ``reported_jobs_s`` (a week) is removed unless a job still needs it (an
active upload or export names it, or an export whose result nobody was told yet); after
``unreported_jobs_s`` (a month) it goes whatever the records say, as their records do. A partial
upload (``.<name>.part``) not written to for an hour is what a worker killed mid-upload left.
Empty user folders go too: those this pass emptied, and those left empty for an hour (a younger
empty folder was just made by an export about to write into it). Every worker runs the pass
hourly, but only one at a time does the work: on PostgreSQL a transaction-scoped advisory lock,
taken with ``pg_try_``, lets the others skip it. The same pass prunes the records
(``StateStore.prune``).

**Room** (``room_left``): before an upload is written, and as it streams, the folder must keep
``NEMO_MIN_FREE_MB`` free; an upload that would eat it, or that meets a full disk (``ENOSPC``),
is refused in words and its partial file removed.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from nemo_mcp.store import Retention, Scope, StateStore

Skills = str | Sequence[str]
"""The skill, or the skills, whose records may still name a user's files."""

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
FIRST_PASS_S = 60.0
STALE_PART_S = 3600.0
EMPTY_FOLDER_S = 3600.0
RETENTION_LOCK = 0x6E656D72  # "nemr"
KINDS = ("uploads", "exports")
DISK_FULL = (
    "The server has no room for this file right now (its disk is nearly full). Try again later; "
    "nothing was kept of it."
)


class NoRoom(Exception):
    """The shared folder cannot take the file; the words are for the user."""

    def __init__(self) -> None:
        super().__init__(DISK_FULL)


def room_left(folder: Path, need_bytes: int, min_free_mb: int) -> None:
    """``NoRoom`` unless ``need_bytes`` fit in ``folder`` with ``min_free_mb`` to spare."""
    free = shutil.disk_usage(folder).free
    if free - need_bytes < min_free_mb * 1024 * 1024:
        raise NoRoom


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class FileFacts:
    name: str
    age_s: float


def doomed(files: Iterable[FileFacts], still_needed: str, retention: Retention) -> list[str]:
    """The names to remove. ``still_needed``: the requests and results of the jobs that may
    still read a file (a name appearing there is kept until the month is up). Pure."""
    gone = []
    for facts in files:
        if facts.name.startswith(".") and facts.name.endswith(".part"):
            if facts.age_s > STALE_PART_S:
                gone.append(facts.name)
        elif facts.age_s > retention.unreported_jobs_s or (
            facts.age_s > retention.reported_jobs_s and facts.name not in still_needed
        ):
            gone.append(facts.name)
    return gone


async def _still_needed(store: StateStore, backend: str, user: str, skills: Skills) -> str:
    """What the user's uploads and exports in any of ``skills`` still name (a server of every
    skill keeps one folder per user for all of them)."""
    named: list[str] = []
    for skill in (skills,) if isinstance(skills, str) else skills:
        records = await store.jobs(Scope(backend, user, skill), kinds=["upload", "export"])
        named += [f"{r.request}\n{r.result or ''}" for r in records if r.active or not r.reported]
    return "\n".join(named)


def _facts(folder: Path, now: float) -> list[FileFacts]:
    with os.scandir(folder) as entries:
        return [
            FileFacts(e.name, now - e.stat(follow_symlinks=False).st_mtime)
            for e in entries
            if e.is_file(follow_symlinks=False)
        ]


async def prune_files(
    root: Path, store: StateStore, backend: str, skill: Skills, retention: Retention
) -> int:
    """One pass over every user's folders; the number of files removed."""
    removed, now = 0, time.time()
    for kind in KINDS:
        base = root / kind
        if not base.is_dir():
            continue
        for user in sorted(p for p in base.iterdir() if p.is_dir()):
            facts = _facts(user, now)
            needed = await _still_needed(store, backend, user.name, skill) if facts else ""
            for name in doomed(facts, needed, retention):
                try:
                    (user / name).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
            if facts or now - user.stat().st_mtime >= EMPTY_FOLDER_S:
                try:
                    user.rmdir()  # only if empty
                except OSError:
                    pass
    return removed


@asynccontextmanager
async def my_turn(pool: Any) -> AsyncIterator[bool]:
    """Whether this worker holds the retention lock (until the block ends); True on SQLite,
    where there is one worker."""
    if pool is None:
        yield True
        return
    async with pool.connection() as db, db.transaction():
        cur = await db.execute("SELECT pg_try_advisory_xact_lock(%s)", (RETENTION_LOCK,))
        row = await cur.fetchone()
        yield bool(row and row[0])


async def prune_once(
    root: Path, store: StateStore, pool: Any, backend: str, skill: Skills, retention: Retention
) -> int | None:
    """Records and files, if this worker got the lock (None: another one is at it)."""
    async with my_turn(pool) as mine:
        if not mine:
            return None
        await store.prune(retention)
        return await prune_files(root, store, backend, skill, retention)


async def keep_pruning(
    root: Path, store: StateStore, pool: Any, backend: str, skill: Skills,
    every: float = PRUNE_EVERY_S, first: float = FIRST_PASS_S,
) -> None:  # fmt: skip
    """The worker's hourly pass (a failure is logged and tried again next time)."""
    await anyio.sleep(first)
    while True:
        try:
            removed = await prune_once(root, store, pool, backend, skill, Retention())
            if removed:
                log.info("removed %d old upload and export files", removed)
        except Exception:
            log.warning("the pass over old files failed", exc_info=True)
        await anyio.sleep(every)
