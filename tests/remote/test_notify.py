"""A call waiting for another worker's job is woken by LISTEN/NOTIFY: on a real PostgreSQL, the
store queries of one waiting call, re-reading every 0.25 s and woken by notifications."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio

from nemo_mcp.flows.kinds import SPECS
from nemo_mcp.jobs import JobManager, Wake
from nemo_mcp.remote.notify import Notifier
from nemo_mcp.remote.pg_store import PostgresStore
from tests.store.conftest import job

STEPS = 4
STEP_S = 0.8


class Counting:
    """A store that counts the calls made through it."""

    def __init__(self, inner: PostgresStore) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await target(*args, **kwargs)

        return counted


async def waiting_call(
    runner: PostgresStore, waiter: PostgresStore, key: str, wake: Wake | None
) -> tuple[int, float]:
    """One call waiting for a job another worker runs: its store queries, and how long after
    the job ended the call noticed."""
    record, _ = await runner.add_job(job(key, owner="host-b:1:other"), serial=False)
    counting = Counting(waiter)
    finished = [0.0]

    async def the_other_worker() -> None:
        for step in range(STEPS):
            await anyio.sleep(STEP_S)
            await runner.update_job(
                record.id,
                percent=20.0 * (step + 1),
                message=f"step {step}",
                heartbeat_at=time.time(),
            )
        await anyio.sleep(STEP_S)
        finished[0] = time.monotonic()
        await runner.update_job(record.id, status="done", finished_at=time.time())

    async def never(_: object) -> Any:
        raise AssertionError("the waiting worker never runs the job")

    async with anyio.create_task_group() as tg:
        manager = JobManager(counting, tg, never, str, kinds=SPECS, holder="host-a:1:waiter")  # type: ignore[arg-type]
        manager.wake = wake
        tg.start_soon(the_other_worker)
        with anyio.fail_after(30):
            ended = await manager.wait(record.id, 30)
    assert ended.status == "done"
    return counting.calls, time.monotonic() - finished[0]


async def test_a_waiting_call_is_woken_by_notify_not_by_polling(pg_store_url: str) -> None:
    runner, waiter = (
        await PostgresStore(pg_store_url).open(),
        await PostgresStore(pg_store_url).open(),
    )
    notifier = Notifier(pg_store_url)
    await notifier.install()
    waits: dict[str, tuple[int, float]] = {}

    async def one(key: str, wake: Wake | None) -> None:
        waits[key] = await waiting_call(runner, waiter, key, wake)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(notifier.listen)
            with anyio.fail_after(10):
                while not notifier.listening:
                    await anyio.sleep(0.02)
            async with anyio.create_task_group() as both:  # side by side: one wait's time
                both.start_soon(one, "polled", None)
                both.start_soon(one, "woken", notifier.wait)
            tg.cancel_scope.cancel()
    finally:
        await runner.close()
        await waiter.close()
    polled, woken = waits["polled"], waits["woken"]
    print(json.dumps({"store_queries_per_wait": {"polling": polled[0], "notify": woken[0]},
                      "noticed_after_s": {"polling": polled[1], "notify": woken[1]}}))  # fmt: skip
    # 4 s of waiting: re-reading every 0.25 s is ~16 rounds; woken, one round per change.
    assert woken[0] <= (STEPS + 2) * 2 < polled[0]
    assert woken[1] < 0.25
