"""What only a shared database must get right (two workers at once, users kept apart). The
store contract itself runs on PostgreSQL too: tests/store's ``store`` fixture has a ``[postgres]``
case."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import anyio
import pytest

from nemo_mcp.remote.pg_store import PostgresStore
from nemo_mcp.store import Scope, SessionRecord, TokenRecord
from tests.remote.services import empty_pg_store
from tests.store.conftest import SCOPE, job


@pytest.fixture
async def store(pg_store_url: str) -> AsyncIterator[PostgresStore]:
    db: PostgresStore = await empty_pg_store(pg_store_url)
    yield db
    await db.close()


async def test_two_workers_adding_the_same_request_get_one_job(
    store: PostgresStore, pg_store_url: str
) -> None:
    first, second = (
        await PostgresStore(pg_store_url).open(),
        await PostgresStore(pg_store_url).open(),
    )
    results: list[tuple[str, bool]] = []

    async def add(store: PostgresStore, n: int) -> None:
        stored, joined = await store.add_job(job("same", owner=f"w{n}"), serial=True)
        results.append((stored.id, joined))

    try:
        async with anyio.create_task_group() as tg:
            for n in range(10):
                tg.start_soon(add, first if n % 2 else second, n)
    finally:
        await first.close()
        await second.close()
    assert len({job_id for job_id, _ in results}) == 1
    assert sorted(joined for _, joined in results) == [False] + [True] * 9


async def test_a_result_is_handed_out_once_between_workers(
    store: PostgresStore, pg_store_url: str
) -> None:
    stores = [await PostgresStore(pg_store_url).open() for _ in range(3)]
    try:
        record, _ = await stores[0].add_job(job("r1"), serial=False)
        await stores[0].update_job(record.id, status="done", result="{}", finished_at=time.time())
        taken: list[int] = []

        async def take(store: PostgresStore) -> None:
            taken.append(len(await store.take_unreported(SCOPE)))

        async with anyio.create_task_group() as tg:
            for worker in stores * 3:
                tg.start_soon(take, worker)
        assert sorted(taken) == [0] * 8 + [1]
    finally:
        for worker in stores:
            await worker.close()


async def test_users_do_not_see_each_others_records(store: PostgresStore) -> None:
    alice, bob = Scope("api", "u_alice", "s"), Scope("api", "u_bob", "s")
    await store.add_job(job("hello", scope=alice), serial=True)
    await store.save_token("api", "u_alice", TokenRecord("sealed", time.time() + 60, ""))
    assert await store.jobs(bob) == [] and await store.token("api", "u_bob") is None
    other, joined = await store.add_job(replace(job("hello", scope=bob), id="e-bob"), serial=True)
    assert not joined and other.scope == bob
    assert len(await store.running_jobs()) == 2


async def test_twenty_sign_ins_of_one_user_at_once_all_succeed(
    store: PostgresStore, pg_store_url: str
) -> None:
    # Two workers, ten writes each, of the same user's token and session: upserts, so no
    # write fails on the primary key and the last one stays.
    stores = [store, await PostgresStore(pg_store_url).open()]
    session = SessionRecord("s1", "t1", None, "en", time.time())
    try:
        async with anyio.create_task_group() as tg:
            for n in range(20):
                record = TokenRecord(f"sealed-{n}", time.time() + 60, "")
                tg.start_soon(stores[n % 2].save_token, "api", "u_same", record)
                tg.start_soon(stores[n % 2].save_session, SCOPE, session)
    finally:
        await stores[1].close()
    kept = await store.token("api", "u_same")
    assert kept is not None and kept.token.startswith("sealed-")
    assert await store.session(SCOPE) == session
    await store.save_token("api", "u_same", None)
    assert await store.token("api", "u_same") is None
