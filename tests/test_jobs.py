"""Jobs on record: joined, queued, waited for, handed out once, adopted when their process died."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from pydantic import BaseModel

from nemo_mcp.jobs import JobManager, RunningJob, Telling, elapsed_words
from nemo_mcp.results import EditResult, JobResult
from nemo_mcp.routing import Intent
from nemo_mcp.store import JobKind, JobRecord, Scope, SQLiteStore
from nemo_mcp.store.lease import holder_is_gone
from nemo_mcp.tools.cancel import stop_job

SCOPE = Scope("api", "", "skill")


class Ask(BaseModel):
    text: str = ""


class Gate:
    """Work that finishes when the test says so; remembers every run."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.runs: list[tuple[str, bool]] = []
        self.fail: Exception | None = None

    async def __call__(self, job: RunningJob) -> JobResult:
        self.runs.append((job.record.key, job.resumed))
        await job.report("half way", 0.5)
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return EditResult(status="done", intent=Intent.EDIT, reply=f"did {job.record.key}")


@asynccontextmanager
async def manager(
    store: SQLiteStore, gate: Gate, holder: str = "host:1:a", **kw: float
) -> AsyncIterator[JobManager]:
    """A manager whose task group lives inside the test's own task (anyio: a task group is
    left by the task that entered it)."""
    async with anyio.create_task_group() as tg:
        yield JobManager(
            store, tg, gate, lambda exc: f"words: {exc}", kinds=RULES, holder=holder, **kw
        )
        tg.cancel_scope.cancel()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore.in_folder(tmp_path)
    yield db
    await db.close()


@dataclass(frozen=True)
class Rules:
    """A kind's rules as ``flows.kinds`` declares them, for requests that are their own key."""

    kind: JobKind
    serial: bool
    tells: Telling
    after: tuple[JobKind, ...] = ()
    waiting: str = ""

    def key_of(self, request: BaseModel) -> str:
        return str(getattr(request, "text", ""))

    def label_of(self, request: BaseModel) -> str:
        return self.key_of(request)


RULES = {
    "edit": Rules("edit", serial=True, tells="in_order"),
    "export": Rules("export", serial=False, tells="latest"),
    "upload": Rules("upload", serial=False, tells="own"),
}


async def submit(jobs: JobManager, key: str, kind: str = "edit") -> tuple[JobRecord, bool]:
    return await jobs.submit(SCOPE, RULES[kind], Ask(text=key))


async def test_a_job_finishes_and_its_waiter_gets_the_result(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        record, joined = await submit(jobs, "k")
        assert not joined and record.status == "running"
        gate.release.set()
        done = await jobs.wait(record.id, 5)
    assert (done.status, done.percent) == ("done", 100.0)
    assert EditResult.model_validate_json(done.result or "").reply == "did k"


async def test_the_same_key_joins_and_runs_once(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        first, _ = await submit(jobs, "k")
        second, joined = await submit(jobs, "k")
        assert joined and second.id == first.id
        gate.release.set()
        await jobs.wait(first.id, 5)
    assert gate.runs == [("k", False)]


async def test_other_edits_queue_and_run_in_order(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        records = [(await submit(jobs, f"k{i}"))[0] for i in range(3)]
        assert [r.status for r in records] == ["running", "queued", "queued"]
        assert [await jobs.queue_position(r) for r in records] == [0, 1, 2]
        gate.release.set()
        for record in records:
            assert (await jobs.wait(record.id, 5)).status == "done"
    assert [key for key, _ in gate.runs] == ["k0", "k1", "k2"]


async def test_one_export_at_a_time(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        first, _ = await submit(jobs, "export", "export")
        again, joined = await submit(jobs, "export", "export")
        assert joined and again.id == first.id
        gate.release.set()
        await jobs.wait(first.id, 5)


async def test_a_waiter_that_gives_up_leaves_the_job_running(store: SQLiteStore) -> None:
    gate = Gate()
    progress: list[float] = []

    async def listen(percent: float, total: float, message: str) -> None:
        progress.append(percent)

    async with manager(store, gate) as jobs:
        record, _ = await submit(jobs, "k")
        with anyio.move_on_after(0.05):
            await jobs.wait(record.id, 10, listen)
        assert (await jobs.wait(record.id, 0.01)).status == "running"
        gate.release.set()
        assert (await jobs.wait(record.id, 5)).status == "done"
    assert progress and progress == sorted(progress)


async def test_progress_never_goes_down_and_ticks_while_quiet(store: SQLiteStore) -> None:
    gate = Gate()
    seen: list[tuple[float, str]] = []

    async def listen(percent: float, total: float, message: str) -> None:
        seen.append((percent, message))

    async with manager(store, gate, tick=0.02) as jobs:
        record, _ = await submit(jobs, "k")
        await jobs.wait(record.id, 0.2, listen)
        gate.release.set()
        await jobs.wait(record.id, 5, listen)
    percents = [p for p, _ in seen]
    assert percents == sorted(percents)
    assert any(m.startswith("Still working") for _, m in seen)
    assert seen[-1] == (100.0, "Done.")


async def test_a_failure_is_kept_in_words_and_handed_out_once(store: SQLiteStore) -> None:
    gate = Gate()
    gate.fail = RuntimeError("boom")
    async with manager(store, gate) as jobs:
        record, _ = await submit(jobs, "k")
        gate.release.set()
        failed = await jobs.wait(record.id, 5)
        assert (failed.status, failed.error) == ("failed", "words: boom")
        assert [j.id for j in await jobs.outstanding(SCOPE)] == [record.id]
        assert [j.id for j in await jobs.news(SCOPE, "edit")] == [record.id]
        assert await jobs.news(SCOPE, "edit") == []
        assert await jobs.outstanding(SCOPE) == []


async def test_a_stopped_server_leaves_the_job_for_the_next_one(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate, holder="host:1:first") as jobs:
        record, _ = await submit(jobs, "k")
        await jobs.wait(record.id, 0.05)
    left = await store.job(record.id)
    assert left is not None and left.status == "running", "not failed: someone resumes it"
    gate.release.set()
    async with manager(store, gate, holder="host:2:second", stale_s=0.05) as jobs:
        await anyio.sleep(0.1)
        await jobs.recover(SCOPE)
        done = await jobs.wait(record.id, 5)
    assert done.status == "done"
    assert gate.runs == [("k", False), ("k", True)]


async def test_a_job_whose_process_is_dead_is_adopted_at_once(store: SQLiteStore) -> None:
    gate = Gate()
    gate.release.set()
    now = time.time()
    dead = "dead-host-never:1:x"
    record = JobRecord(
        id="edit-x", scope=SCOPE, kind="edit", key="x", label="x", status="running",
        request=Ask(text="x").model_dump_json(), owner=dead, heartbeat_at=now, created_at=now,
    )  # fmt: skip
    await store.add_job(record, serial=True)
    async with manager(store, gate) as jobs:
        await jobs.recover(SCOPE)
        assert (await jobs.wait(record.id, 0.05)).status == "running", "another host: wait"
    async with manager(store, gate, stale_s=0.0) as jobs:
        await jobs.recover(SCOPE)
        assert (await jobs.wait(record.id, 5)).status == "done"


async def test_a_job_another_manager_runs_is_followed_through_the_store(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate, holder="host:1:a") as one:
        async with manager(store, gate, holder="host:1:b") as two:
            record, _ = await submit(one, "k")
            joined, was_joined = await submit(two, "k")
            assert was_joined and joined.id == record.id
            gate.release.set()
            assert (await two.wait(record.id, 5)).status == "done"
    assert len(gate.runs) == 1


def test_owner_is_gone_only_for_a_dead_pid_on_this_host() -> None:
    import os
    import socket

    host = socket.gethostname()
    assert not holder_is_gone(f"{host}:{os.getpid()}:x")
    assert holder_is_gone(f"{host}:999999999:x")
    assert not holder_is_gone("another-host:1:x")
    assert holder_is_gone(None)


@pytest.mark.parametrize(
    ("seconds", "words"), [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (130, "2m10s")]
)
def test_elapsed_words(seconds: float, words: str) -> None:
    assert elapsed_words(seconds) == words


# -- what the user is told: the manager alone decides ----------------------------------------


class Gates:
    """Work whose jobs finish one by one, when the test releases their key."""

    def __init__(self) -> None:
        self.open: dict[str, anyio.Event] = {}
        self.started: list[str] = []

    def release(self, key: str) -> None:
        self.open.setdefault(key, anyio.Event()).set()

    async def __call__(self, job: RunningJob) -> JobResult:
        self.started.append(job.record.key)
        await self.open.setdefault(job.record.key, anyio.Event()).wait()
        return EditResult(status="done", intent=Intent.EDIT, reply=f"did {job.record.key}")


async def _finished(jobs: JobManager, key: str, kind: str, gates: Gates) -> JobRecord:
    record, _ = await submit(jobs, key, kind)
    gates.release(key)
    return await jobs.wait(record.id, 5)


async def test_edits_are_told_in_order_each_once_whoever_asks(store: SQLiteStore) -> None:
    gates = Gates()
    async with manager(store, gates) as jobs:  # type: ignore[arg-type]
        first = await _finished(jobs, "a", "edit", gates)
        second = await _finished(jobs, "b", "edit", gates)
        # Whoever waited for "b" hears "a" first: nothing is skipped or told late.
        assert [j.key for j in await jobs.tell(second)] == ["a", "b"]
        assert await jobs.news(SCOPE, "edit") == []
        # The caller of "a" still hears its own result (it is theirs), and nothing else.
        assert [j.key for j in await jobs.tell(first)] == ["a"]


async def test_only_the_latest_export_is_told_and_uploads_tell_their_own(
    store: SQLiteStore,
) -> None:
    gates = Gates()
    async with manager(store, gates) as jobs:  # type: ignore[arg-type]
        await _finished(jobs, "x1", "export", gates)
        await _finished(jobs, "x2", "export", gates)
        await _finished(jobs, "u1", "upload", gates)
        own = await _finished(jobs, "u2", "upload", gates)
        assert [j.key for j in await jobs.news(SCOPE, "export")] == ["x2"]
        assert await jobs.news(SCOPE, "export") == [], "the older export is superseded unsaid"
        assert [j.key for j in await jobs.tell(own)] == ["u2"]
        assert [j.key for j in await jobs.overview(SCOPE)] == ["u1"]
        assert await jobs.overview(SCOPE) == []


async def test_status_waits_for_the_running_job_unless_a_result_waits(
    store: SQLiteStore,
) -> None:
    gates = Gates()
    async with manager(store, gates) as jobs:  # type: ignore[arg-type]
        running, _ = await submit(jobs, "slow")
        told, going = await jobs.status(SCOPE, "edit", 0.05)
        assert told == [] and going is not None and going.id == running.id
        gates.release("slow")
        told, going = await jobs.status(SCOPE, "edit", 5)
        assert [j.key for j in told] == ["slow"] and going is None


async def test_an_edit_waits_for_the_upload_asked_before_it(store: SQLiteStore) -> None:
    gates = Gates()
    rules = {**RULES, "edit": Rules("edit", serial=True, tells="in_order", after=("upload",))}
    async with anyio.create_task_group() as tg:
        jobs = JobManager(store, tg, gates, str, kinds=rules, holder="host:1:a")
        await submit(jobs, "photos", "upload")
        edit, _ = await submit(jobs, "make it", "edit")
        with anyio.fail_after(5):
            while (await jobs.wait(edit.id, 0.05)).message == "Started.":
                pass
        assert gates.started == ["photos"]
        assert "Waiting for the running upload" in (await jobs.wait(edit.id, 0.05)).message
        gates.release("photos")
        gates.release("make it")
        assert (await jobs.wait(edit.id, 5)).status == "done"
        assert gates.started == ["photos", "make it"]
        tg.cancel_scope.cancel()


async def test_a_job_can_be_stopped_and_is_told_in_the_words_given(store: SQLiteStore) -> None:
    gates = Gates()
    async with manager(store, gates) as jobs:  # type: ignore[arg-type]
        record, _ = await submit(jobs, "long")
        with anyio.fail_after(5):
            while "long" not in gates.started:
                await anyio.sleep(0.01)
        assert jobs.stop(record.id, "Stopped at your request.")
        stopped = await jobs.wait(record.id, 5)
        assert (stopped.status, stopped.error) == ("failed", "Stopped at your request.")
        assert not jobs.stop(record.id, "again"), "a finished job is not running here"
        assert [j.id for j in await jobs.tell(stopped)] == [record.id]


STOPPED = EditResult(status="cancelled", intent=Intent.CANCEL, reply="stopped")


async def test_a_queued_job_that_is_stopped_never_runs(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        running, _ = await submit(jobs, "first")
        queued, _ = await submit(jobs, "second")
        assert queued.status == "queued"
        assert await stop_job(jobs, queued, STOPPED, "stopped")
        gate.release.set()
        assert (await jobs.wait(running.id, 5)).status == "done"
        await anyio.sleep(0.05)
    assert [key for key, _ in gate.runs] == ["first"], "the stopped one was never claimed"
    left = await store.job(queued.id)
    assert left is not None and left.status == "cancelled" and left.reported
    assert not await stop_job(jobs, queued, STOPPED, "stopped"), "only once"


async def test_a_running_job_stops_at_once_and_keeps_its_words(store: SQLiteStore) -> None:
    gate = Gate()
    async with manager(store, gate) as jobs:
        record, _ = await submit(jobs, "k")
        await jobs.wait(record.id, 0.05)
        assert await stop_job(jobs, record, STOPPED, "stopped")
        ended = await jobs.wait(record.id, 5)
    assert ended.status == "cancelled" and ended.result == STOPPED.model_dump_json()
    assert await store.take_unreported(SCOPE) == [], "the stop's own answer told it"


async def test_a_stop_through_the_store_reaches_the_process_that_runs_it(
    store: SQLiteStore,
) -> None:
    gate = Gate()
    async with manager(store, gate, holder="host:1:a", tick=0.05) as runner:
        async with manager(store, gate, holder="host:1:b") as other:
            record, _ = await submit(runner, "k")
            await runner.wait(record.id, 0.05)
            assert await stop_job(other, record, STOPPED, "stopped")
            with anyio.fail_after(5):
                while record.id in runner._live:
                    await anyio.sleep(0.02)
    ended = await store.job(record.id)
    assert ended is not None and ended.status == "cancelled"


async def test_a_job_stopped_while_its_server_was_down_is_not_taken_up_again(
    store: SQLiteStore,
) -> None:
    gate = Gate()
    async with manager(store, gate, holder="host:1:first") as jobs:
        record, _ = await submit(jobs, "k")
        await jobs.wait(record.id, 0.05)
    async with manager(store, gate, holder="host:2:second", stale_s=0.0) as jobs:
        assert await stop_job(jobs, record, STOPPED, "stopped")
        await jobs.recover(SCOPE)
        await anyio.sleep(0.05)
    assert gate.runs == [("k", False)], "nobody resumed it"
    ended = await store.job(record.id)
    assert ended is not None and ended.status == "cancelled"
