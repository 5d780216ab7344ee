from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from nemo_mcp.errors import InputError
from nemo_mcp.jobs import Job, JobManager, elapsed_words


@asynccontextmanager
async def running() -> AsyncIterator[JobManager]:
    """A manager whose task group lives inside the test's own task (see MCP-SDK.md, §8)."""
    async with anyio.create_task_group() as tg:
        yield JobManager(tg, lambda exc: f"words: {exc}", tick=0.05)
        tg.cancel_scope.cancel()


class Gate:
    """Work that finishes when the test says so."""

    def __init__(self, result: object = "ok") -> None:
        self.release = anyio.Event()
        self.started = 0
        self.result = result

    async def __call__(self, job: Job) -> object:
        self.started += 1
        await job.report("half way", 0.5)
        await self.release.wait()
        return self.result


async def test_a_job_finishes_and_its_waiter_gets_the_result() -> None:
    async with running() as manager:
        gate = Gate()
        job, joined = manager.submit("edit", "k", "label", gate)
        assert not joined and job.status == "running"
        gate.release.set()
        await manager.wait(job, 5)
        assert (job.status, job.result, job.percent) == ("done", "ok", 100.0)


async def test_the_same_key_joins_and_runs_once() -> None:
    async with running() as manager:
        gate = Gate()
        first, _ = manager.submit("edit", "k", "a", gate)
        second, joined = manager.submit("edit", "k", "a", gate)
        assert joined and second is first
        gate.release.set()
        await manager.wait(first, 5)
        assert gate.started == 1


async def test_other_edits_queue_in_order() -> None:
    async with running() as manager:
        gates = [Gate(i) for i in range(3)]
        jobs = [manager.submit("edit", f"k{i}", f"m{i}", gates[i])[0] for i in range(3)]
        assert [j.status for j in jobs] == ["running", "queued", "queued"]
        assert [manager.queue_position(j) for j in jobs] == [0, 1, 2]
        gates[0].release.set()
        with anyio.fail_after(5):
            while jobs[1].status != "running":
                await anyio.sleep(0.01)
        assert manager.queue_position(jobs[2]) == 1 and gates[2].started == 0
        gates[1].release.set()
        gates[2].release.set()
        await manager.wait(jobs[2], 5)
        assert [j.result for j in jobs] == [0, 1, 2]


async def test_one_export_at_a_time() -> None:
    async with running() as manager:
        gate = Gate()
        first, _ = manager.submit("export", "export", "export", gate)
        again, joined = manager.submit("export", "other", "export", gate)
        assert joined and again is first
        gate.release.set()


async def test_a_waiter_that_gives_up_leaves_the_job_running() -> None:
    async with running() as manager:
        gate = Gate()
        job, _ = manager.submit("edit", "k", "a", gate)
        seen: list[float] = []

        async def listener(progress: float, total: float, message: str) -> None:
            seen.append(progress)

        with anyio.move_on_after(0.2):
            await manager.wait(job, 10, listener)
        assert job.status == "running" and job.listeners == []
        assert seen and seen == sorted(seen)
        gate.release.set()
        await manager.wait(job, 5)
        assert job.status == "done"


async def test_progress_never_goes_down_and_ticks_while_quiet() -> None:
    async with running() as manager:
        gate = Gate()
        job, _ = manager.submit("edit", "k", "a", gate)
        seen: list[tuple[float, str]] = []

        async def listener(progress: float, total: float, message: str) -> None:
            seen.append((progress, message))

        await manager.wait(job, 0.3, listener)
        await job.report("backwards", 0.1)
        values = [p for p, _ in seen]
        assert all(b > a for a, b in zip(values, values[1:], strict=False))
        assert job.percent > 50
        assert any(m.startswith("Still working") for _, m in seen)
        gate.release.set()


async def test_failures_become_words_and_unreported_results_are_listed() -> None:
    async with running() as manager:

        async def boom(job: Job) -> None:
            raise InputError("nothing to export")

        job, _ = manager.submit("export", "export", "export", boom)
        await manager.wait(job, 5)
        assert job.status == "failed" and job.error == "words: nothing to export"
        assert manager.outstanding() == [job] and manager.unreported("export") == [job]
        job.reported = True
        assert manager.outstanding() == []


@pytest.mark.parametrize(("seconds", "words"), [(5, "5s"), (59.9, "59s"), (130, "2m10s")])
def test_elapsed_words(seconds: float, words: str) -> None:
    assert elapsed_words(seconds) == words
