"""The SQLite store: records that survive a reopen, jobs joined or queued in one transaction,
results handed out once, hand-offs recorded once, and stale records pruned by the rules.

A test taking ``store`` is the store contract: it runs again on PostgreSQL (``[postgres]``,
tests/store/conftest.py); ``sqlite_store`` is for what only the SQLite file must do."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import time
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from nemo_mcp.store import (
    RenderRecord,
    Retention,
    Scope,
    SessionRecord,
    SQLiteStore,
    StateStore,
    TokenRecord,
)
from nemo_mcp.store.sqlite_schema import MIGRATIONS
from tests.store.conftest import SCOPE, job


async def test_the_file_is_private_in_wal_mode_and_versioned(sqlite_store: SQLiteStore) -> None:
    store = sqlite_store
    await store.save_token("api", "", TokenRecord("nmv_usr_secret_abcdef", time.time() + 60, "c"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert "secret" not in repr(await store.token("api", ""))


async def test_records_survive_a_new_store_and_stay_in_their_scope(tmp_path: Path) -> None:
    first = SQLiteStore.in_folder(tmp_path)
    other = Scope("http://127.0.0.1:9", "", "picture-to-video-ai")
    await first.save_token(SCOPE.backend, "", TokenRecord("nmv_usr_tok_123456", 2e9, "cid"))
    await first.save_session(SCOPE, SessionRecord("s1", "t1", "b1", "zh", 5.0))
    await first.save_render(SCOPE, RenderRecord("r1", "s1", "digest", 6.0))
    await first.close()
    again = SQLiteStore.in_folder(tmp_path)
    token = await again.token(SCOPE.backend, "")
    assert token is not None and token.token == "nmv_usr_tok_123456"
    assert await again.session(SCOPE) == SessionRecord("s1", "t1", "b1", "zh", 5.0)
    assert await again.render(SCOPE, "s1") == RenderRecord("r1", "s1", "digest", 6.0)
    assert await again.session(other) is None and await again.token(other.backend, "") is None
    await again.save_session(SCOPE, None)
    assert await again.session(SCOPE) is None
    await again.close()


async def test_a_lease_has_one_holder_until_it_is_released_or_expires(store: StateStore) -> None:
    assert await store.acquire("token", "a", ttl=60)
    assert not await store.acquire("token", "b", ttl=60)
    assert await store.acquire("token", "a", ttl=60), "the holder may renew"
    await store.release("token", "a")
    assert await store.acquire("token", "b", ttl=0.01)
    await anyio.sleep(0.02)
    assert await store.acquire("token", "c", ttl=60), "an expired lease is free"


async def test_a_lease_whose_holder_process_is_gone_is_handed_over(
    sqlite_store: SQLiteStore,
) -> None:
    store = sqlite_store
    here = socket.gethostname()
    assert await store.acquire("token", f"{here}:{os.getpid()}:alive", ttl=60)
    assert not await store.acquire("token", f"{here}:1:other", ttl=60), "a live holder keeps it"
    await store.release("token", f"{here}:{os.getpid()}:alive")
    assert await store.acquire("token", f"{here}:999999999:killed", ttl=60)
    assert await store.acquire("token", f"{here}:{os.getpid()}:next", ttl=60)
    assert await store.acquire("session", "elsewhere:999999999:x", ttl=60)
    assert not await store.acquire("session", "b", ttl=60), "not ours to judge on another host"


async def test_the_same_key_joins_and_a_second_edit_queues(store: StateStore) -> None:
    first, joined = await store.add_job(job("a"), serial=True)
    assert (first.status, joined) == ("running", False)
    same, joined = await store.add_job(job("a"), serial=True)
    assert joined and same.id == first.id
    second, joined = await store.add_job(job("b"), serial=True)
    assert (second.status, second.owner, joined) == ("queued", None, False)
    assert await store.claim_next(SCOPE, "edit", "me") is None, "one runs at a time"
    await store.update_job(first.id, status="done", finished_at=time.time())
    claimed = await store.claim_next(SCOPE, "edit", "other")
    assert claimed is not None and (claimed.id, claimed.owner) == (second.id, "other")
    assert claimed.status == "running" and claimed.started_at


async def test_a_finished_job_nobody_saw_is_joined_only_when_asked(store: StateStore) -> None:
    first, _ = await store.add_job(job("export", kind="export"), serial=False)
    await store.update_job(first.id, status="done", finished_at=time.time())
    again = replace(job("export", kind="export"), id="export-again")
    seen, joined = await store.add_job(again, serial=False, join_unseen=True)
    assert joined and seen.id == first.id and seen.status == "done", "handed out, not redone"
    await store.take_unreported(SCOPE, ids=[first.id])
    fresh, joined = await store.add_job(again, serial=False, join_unseen=True)
    assert not joined and fresh.id == "export-again", "once told, asking again starts anew"
    other, joined = await store.add_job(replace(again, id="e3"), serial=False, join_unseen=True)
    assert joined and other.id == "export-again", "a running one is joined as ever"


async def test_jobs_of_other_kinds_and_scopes_run_side_by_side(store: StateStore) -> None:
    elsewhere = Scope("local", "", "dreamface-ai")
    await store.add_job(job("a"), serial=True)
    other, _ = await store.add_job(job("a", scope=elsewhere), serial=True)
    export, _ = await store.add_job(job("export", kind="export"), serial=True)
    assert other.status == "running" and export.status == "running"


async def test_finished_results_are_handed_out_once_in_order(store: StateStore) -> None:
    ids = []
    for key in ("a", "b", "c"):
        record, _ = await store.add_job(job(key), serial=False)
        await store.update_job(record.id, status="done", result="{}", finished_at=time.time())
        ids.append(record.id)
    async with anyio.create_task_group() as tg:
        taken: list[list[str]] = []

        async def take() -> None:
            taken.append([j.id for j in await store.take_unreported(SCOPE)])

        for _ in range(4):
            tg.start_soon(take)
    handed = [i for batch in taken for i in batch]
    assert sorted(handed) == sorted(ids), "each result exactly once"
    assert [b for b in taken if b] == [ids], "in order, all to one caller"
    assert await store.take_unreported(SCOPE) == []


async def test_adopting_needs_a_silent_owner(store: StateStore) -> None:
    record, _ = await store.add_job(job("a", owner="gone"), serial=True)
    assert await store.adopt(record.id, "me", silent_since=time.time() - 30) is None
    adopted = await store.adopt(record.id, "me", silent_since=time.time() + 1)
    assert adopted is not None and adopted.owner == "me"
    assert await store.adopt(record.id, "third", silent_since=time.time() + 1) is not None


async def test_a_message_hand_off_is_recorded_once(store: StateStore) -> None:
    assert not await store.handed_off("edit-a")
    assert await store.record_handoff("edit-a", "s1", "digest")
    assert not await store.record_handoff("edit-a", "s1", "digest")
    assert await store.handed_off("edit-a")


async def test_prune_follows_the_retention_rules(store: StateStore) -> None:
    now = time.time()
    day = 24 * 3600
    old_done, _ = await store.add_job(job("old-done"), serial=False)
    await store.update_job(old_done.id, status="done", reported=True, finished_at=now - 8 * day)
    fresh, _ = await store.add_job(job("fresh"), serial=False)
    await store.update_job(fresh.id, status="done", reported=True, finished_at=now - 6 * day)
    waiting, _ = await store.add_job(job("waiting"), serial=False)
    await store.update_job(waiting.id, status="done", reported=False, finished_at=now - 20 * day)
    stuck, _ = await store.add_job(job("stuck", kind="export"), serial=False)
    await store.update_job(stuck.id, heartbeat_at=now - 2 * day, created_at=now - 2 * day)
    await store.save_render(SCOPE, RenderRecord("r-old", "s-old", "d", now - 4 * day))
    await store.save_token("api", "", TokenRecord("nmv_usr_expired_x", now - 1, "c"))
    seen = await store.prune(Retention(), dry_run=True)
    assert (seen.jobs, seen.stuck_jobs, seen.renders, seen.tokens) == (1, 1, 1, 1)
    assert len(await store.jobs(SCOPE)) == 4, "a dry run removes nothing"
    removed = await store.prune(Retention())
    assert removed == seen
    left = {j.key for j in await store.jobs(SCOPE)}
    assert left == {"fresh", "waiting"}
    assert await store.render(SCOPE, "s-old") is None


async def test_two_connections_never_lose_a_write(tmp_path: Path) -> None:
    stores = [SQLiteStore.in_folder(tmp_path) for _ in range(4)]

    async def save(store: SQLiteStore, skill: str) -> None:
        scope = Scope("api", "", skill)
        for n in range(10):
            await store.save_session(scope, SessionRecord(f"{skill}-{n}", "t"))

    async with anyio.create_task_group() as tg:
        for i, store in enumerate(stores):
            tg.start_soon(save, store, f"skill-{i}")
    for i in range(4):
        assert await stores[0].session(Scope("api", "", f"skill-{i}")) is not None
    for store in stores:
        await store.close()


@pytest.mark.real  # several processes
def test_many_processes_opening_a_fresh_folder_at_once_all_get_in(tmp_path: Path) -> None:
    """The switch to WAL is raced by every opener of a fresh file; none may be told "locked"."""
    import multiprocessing

    for attempt in range(2):
        folder = tmp_path / f"fresh-{attempt}"
        with multiprocessing.get_context("spawn").Pool(6) as pool:
            opened = pool.map(_open_and_write, [(folder, f"skill-{i}") for i in range(6)])
        assert opened == [True] * 6


def _open_and_write(job: tuple[Path, str]) -> bool:
    folder, skill = job

    async def run() -> bool:
        store = SQLiteStore.in_folder(folder)
        await store.save_session(Scope("api", "", skill), SessionRecord(skill, "t"))
        await store.close()
        return True

    return anyio.run(run)


def test_a_lost_race_for_the_switch_to_wal_is_waited_out() -> None:
    """SQLite tells the loser of that race "locked" without calling its busy handler."""
    from nemo_mcp.store.sqlite_schema import use_wal

    class Racing:
        tries = 0

        def execute(self, sql: str) -> None:
            self.tries += 1
            if self.tries < 3:
                raise sqlite3.OperationalError("database is locked")

    db = Racing()
    use_wal(db, timeout=5)  # type: ignore[arg-type]
    assert db.tries == 3
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(Racing(), timeout=0)  # type: ignore[arg-type]
