"""``JobManager``: submits, runs, joins, adopts and tells jobs (the rules are in ``jobs``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel

from nemo_mcp.errors import StoreUnavailable
from nemo_mcp.jobs.running import (
    DISPATCHED,
    END_RETRY_MAX_S,
    LABEL_CHARS,
    POLL_S,
    STALE_S,
    TICK,
    WAIT_FOREVER_S,
    Admit,
    Describe,
    Dispatch,
    KindRules,
    Listener,
    Run,
    RunningJob,
    Wake,
    elapsed_words,
)  # fmt: skip
from nemo_mcp.store import JobKind, JobRecord, Scope, StateStore
from nemo_mcp.store.lease import holder_is_gone
from nemo_mcp.store.records import ACTIVE_STATES

log = logging.getLogger(__name__)


class JobManager:
    """Submits, runs, joins, adopts and hands out jobs; one per server process."""

    def __init__(
        self,
        store: StateStore,
        task_group: TaskGroup,
        run: Run,
        describe: Describe,
        *,
        kinds: Mapping[str, KindRules],
        holder: str,
        tick: float = TICK,
        stale_s: float = STALE_S,
        dispatch: Dispatch | None = None,
        admit: Admit | None = None,
    ) -> None:
        self.store = store
        self.admit = admit
        self.adopted = 0
        """Jobs this process took over from a process that died (for the metrics)."""
        self._quiet_until = 0.0
        self.holder = holder
        self._tg = task_group
        self._run = run
        self._describe = describe
        self._tick = tick
        self._stale_s = stale_s
        self._dispatch = dispatch
        self._kinds = kinds
        self._live: dict[str, RunningJob] = {}
        self._stranded: set[str] = set()
        """Jobs whose work stopped because the store did not answer; resumed once it does."""
        self.wake: Wake | None = None
        """How a wait for another process's job learns of a change; re-reads every ``POLL_S``
        without one (remote/notify.py sets PostgreSQL's LISTEN/NOTIFY)."""

    # -- asking ----------------------------------------------------------------------------
    async def submit(
        self, scope: Scope, spec: KindRules, request: BaseModel, *, percent: float = 0.0
    ) -> tuple[JobRecord, bool]:
        """The active job for the request's key (joined: True), or a new one (running, queued);
        ``percent``: where earlier work it continues left off (progress never goes back)."""
        if self.admit is not None:
            await self.admit(scope, spec.kind, spec.key_of(request))
        now = time.time()
        owner = DISPATCHED if self._dispatch else self.holder
        kind = spec.kind
        record = JobRecord(
            id=f"{kind}-{uuid.uuid4().hex[:10]}", scope=scope, kind=kind,
            key=spec.key_of(request), label=" ".join(spec.label_of(request).split())[:LABEL_CHARS],
            status="running", request=request.model_dump_json(), message="Started.", owner=owner,
            percent=percent,
            heartbeat_at=now, created_at=now, started_at=now,
        )  # fmt: skip
        # A kind told "latest" hands out a finished result nobody saw rather than redo it.
        unseen = spec.tells == "latest"
        stored, joined = await self.store.add_job(record, serial=spec.serial, join_unseen=unseen)
        if not joined and stored.status == "running" and self._dispatch is not None:
            await self._dispatch(stored)
        elif not joined and stored.status == "running":
            self._start(stored, resumed=False)
        elif not joined:
            await self._claim_next(scope, kind)
        return stored, joined

    async def run_dispatched(self, job_id: str, handed_at: float) -> None:
        """Run a job the engine handed to this worker, unless another worker already took it
        (its heartbeat moved since ``handed_at``); returns when it ends."""
        # Taken and started as one step: an engine stopping (a drain) cancels this task, and
        # a job taken on record but never started would wait for nobody until it looked stale.
        with anyio.CancelScope(shield=True):
            record = await self.store.adopt(job_id, self.holder, silent_since=handed_at + 1e-3)
            if record is None:
                log.info("%s: already taken by another worker", job_id)
                return
            live = self._start(record, resumed=False)
        await live.done.wait()

    async def job(self, job_id: str) -> JobRecord | None:
        return await self.store.job(job_id)

    async def active(self, scope: Scope, kind: JobKind) -> list[JobRecord]:
        return await self.store.jobs(scope, kinds=[kind], states=ACTIVE_STATES)

    async def outstanding(self, scope: Scope) -> list[JobRecord]:
        """Active and finished-but-unreported jobs, oldest first."""
        await self.recover(scope)
        jobs = await self.store.jobs(scope)
        return [j for j in jobs if j.active or not j.reported]

    # -- telling: what the user hears now --------------------------------------------------
    async def tell(self, record: JobRecord) -> list[JobRecord]:
        """What to tell whoever waited for ``record``: nothing while it is active; else its
        result, after (for a kind told in order) every older result of its kind nobody was told
        yet, oldest first. Each is marked told, so no other answer tells it again."""
        if record.active:
            return []
        earlier: list[str] = []
        if self._kinds[record.kind].tells == "in_order":
            untold = await self._untold(record.scope, record.kind)
            earlier = [j.id for j in untold if j.seq < record.seq]
        taken = await self.store.take_unreported(record.scope, ids=[*earlier, record.id])
        return [*[j for j in taken if j.id != record.id], record]

    async def news(self, scope: Scope, kind: JobKind) -> list[JobRecord]:
        """Every finished result of ``kind`` nobody was told, oldest first, now marked told; of
        a kind where only the latest counts, the latest alone (the older ones superseded)."""
        finished = await self._untold(scope, kind)
        if finished and self._kinds[kind].tells == "latest":
            await self.store.take_unreported(scope, ids=[j.id for j in finished[:-1]])
            finished = finished[-1:]
        if not finished:
            return []
        return await self.store.take_unreported(scope, ids=[j.id for j in finished])

    async def status(
        self, scope: Scope, kind: JobKind, timeout: float, listener: Listener | None = None
    ) -> tuple[list[JobRecord], JobRecord | None]:
        """For "how is it going": the results of ``kind`` nobody was told (when there are none,
        after waiting up to ``timeout`` for the running job), else the job still going."""
        active = await self.active(scope, kind)
        if active and not await self._untold(scope, kind):
            await self.wait(active[0].id, timeout, listener)
        # Read what runs before taking what finished: a job that ends between the two reads is
        # then taken (never both missed, which would answer with neither).
        active = await self.active(scope, kind)
        told = await self.news(scope, kind)
        return told, (active[0] if active and not told else None)

    async def overview(self, scope: Scope) -> list[JobRecord]:
        """Every job worth showing, oldest first: the active ones and the finished ones nobody
        was told, which are now marked told (a listing tells them)."""
        jobs = await self.outstanding(scope)
        await self.store.take_unreported(scope, ids=[j.id for j in jobs if not j.active])
        return jobs

    async def _untold(self, scope: Scope, kind: JobKind) -> list[JobRecord]:
        jobs = await self.store.jobs(scope, kinds=[kind], unreported=True)
        return [j for j in jobs if not j.active]

    def stop(self, job_id: str, words: str) -> bool:
        """Stop a job this process runs: it ends as failed with ``words`` (False if it does not
        run here)."""
        live = self._live.get(job_id)
        if live is None:
            return False
        live.stopped = words
        live.stop_scope.cancel()
        return True

    async def cancelled(self, job_id: str) -> bool:
        """Whether the user stopped the job (``tools.cancel`` marks its record)."""
        try:
            record = await self.store.job(job_id)
        except StoreUnavailable:
            return False
        return record is not None and record.status == "cancelled"

    async def queue_position(self, record: JobRecord) -> int:
        """1 for the next to run; 0 when not queued."""
        if record.status != "queued":
            return 0
        queued = await self.store.jobs(record.scope, kinds=[record.kind], states=["queued"])
        return next((i for i, j in enumerate(queued, start=1) if j.id == record.id), 0)

    def progress(self, record: JobRecord) -> tuple[float, str]:
        """The freshest percentage and message: this process's if it runs the job."""
        live = self._live.get(record.id)
        return (live.percent, live.message) if live else (record.percent, record.message)

    async def _settle(self, job: RunningJob, kinds: Sequence[JobKind], doing: str) -> None:
        """Wait until no earlier job of ``kinds`` is active in ``job``'s scope (an edit waits
        for the uploads it may refer to, an export for the edits it should contain)."""
        while others := [
            j
            for j in await self.store.jobs(job.scope, kinds=kinds, states=ACTIVE_STATES)
            if j.id != job.id and j.seq < job.record.seq
        ]:
            await job.report(f"Waiting for the running {others[0].kind} to finish before {doing}")
            await self.wait(others[0].id, WAIT_FOREVER_S)

    # -- waiting ---------------------------------------------------------------------------
    async def wait(
        self, job_id: str, timeout: float, listener: Listener | None = None
    ) -> JobRecord:
        """Wait for the job at most ``timeout`` s, relaying its progress; its record after."""
        with anyio.move_on_after(timeout):
            live = self._live.get(job_id)
            if live is not None:
                await self._wait_live(live, listener)
            else:
                await self._wait_elsewhere(job_id, listener)
        record = await self.store.job(job_id)
        if record is None:
            raise LookupError(job_id)
        return record

    async def _wait_live(self, live: RunningJob, listener: Listener | None) -> None:
        if listener is None:
            await live.done.wait()
            return
        live.listeners.append(listener)
        try:
            await listener(live.percent, 100.0, live.message)
            await live.done.wait()
        finally:
            live.listeners.remove(listener)

    async def _wait_elsewhere(self, job_id: str, listener: Listener | None) -> None:
        """A job another process runs (or ran): follow its record, adopting it if that died."""
        shown = (-1.0, "")
        while (record := await self.store.job(job_id)) is not None and record.active:
            if record.id in self._live:
                await self._wait_live(self._live[record.id], listener)
                return
            await self._adopt_if_orphaned(record)
            if listener is not None and (record.percent, record.message) != shown:
                shown = (record.percent, record.message)
                await listener(record.percent, 100.0, record.message)
            await (self.wake(job_id) if self.wake is not None else anyio.sleep(POLL_S))

    def store_returned(self) -> None:
        """The store answers again after an outage: no job is taken for silent (rather than
        dead) for ``stale_s``, while their living owners heartbeat and resume them."""
        self._quiet_until = time.monotonic() + self._stale_s

    def held(self) -> list[str]:
        """The ids of the jobs this process runs now."""
        return list(self._live)

    # -- recovering ------------------------------------------------------------------------
    async def resume_stranded(self) -> None:
        """Start again, from their records, the jobs a store outage stopped here."""
        for job_id in list(self._stranded):
            record = await self.store.job(job_id)
            self._stranded.discard(job_id)
            if record is not None and record.status == "running" and record.owner == self.holder:
                log.info("%s: the store answers again; resuming it", job_id)
                self._start(record, resumed=True)

    async def recover(self, scope: Scope) -> None:
        """Adopt the jobs of ``scope`` whose process is gone; start queued work nobody runs."""
        for record in await self.store.jobs(scope, states=["running"]):
            await self._adopt_if_orphaned(record)
        for kind in self._kinds:
            await self._claim_next(scope, kind)  # type: ignore[arg-type]

    async def _adopt_if_orphaned(self, record: JobRecord) -> None:
        if record.status != "running" or record.id in self._live:
            return
        now = time.time()
        gone = holder_is_gone(record.owner)
        if not gone and time.monotonic() < self._quiet_until:
            return  # after a store outage every heartbeat is old: let the owners speak first
        silent_since = now + 1 if gone else now - self._stale_s
        adopted = await self.store.adopt(record.id, self.holder, silent_since)
        if adopted is not None:
            log.info("%s: its process is gone; taking it over", record.id)
            self.adopted += 1
            self._start(adopted, resumed=True)

    async def _claim_next(self, scope: Scope, kind: JobKind) -> None:
        claimed = await self.store.claim_next(scope, kind, self.holder)
        if claimed is not None:
            self._start(claimed, resumed=False)

    # -- running ---------------------------------------------------------------------------
    def _start(self, record: JobRecord, *, resumed: bool) -> RunningJob:
        live = RunningJob(record, resumed, self.store, percent=record.percent)
        self._live[record.id] = live
        self._tg.start_soon(self._execute, live)
        return live

    async def _execute(self, live: RunningJob) -> None:
        ticker = anyio.CancelScope()
        self._tg.start_soon(self._ticker, live, ticker)
        status, result, error = "failed", None, None
        rules = self._kinds.get(live.record.kind)
        try:
            outcome: BaseModel | None = None
            with live.stop_scope:
                if await self.cancelled(live.id):  # stopped before it started
                    live.stop_scope.cancel()
                if rules is not None and rules.after:
                    await self._settle(live, rules.after, rules.waiting)
                outcome = await self._run(live)
            if outcome is None:
                error = live.stopped or "Stopped."
            else:
                status, result = "done", outcome.model_dump_json()
                if getattr(outcome, "status", None) == "interrupted":
                    status = "interrupted"
        except anyio.get_cancelled_exc_class():
            # The server is stopping: leave the record running; the next process adopts it.
            ticker.cancel()
            self._live.pop(live.id, None)
            live.done.set()
            raise
        except StoreUnavailable:
            # Not the job's fault: it stays on record, running, and resumes when the store is back.
            ticker.cancel()
            self._live.pop(live.id, None)
            self._stranded.add(live.id)
            live.done.set()
            return
        except Exception as exc:
            error = self._describe(exc)
            log.warning("%s failed: %s", live.id, type(exc).__name__)
        ticker.cancel()
        live.closing = True
        if status != "failed" and getattr(outcome, "status", None) != "running":  # 100% once
            live.percent, live.message = 100.0, "Done."
        changes: dict[str, object] = {
            "status": status, "result": result, "error": error, "percent": live.percent,
            "message": live.message if status != "failed" else (error or "Failed."),
            "finished_at": time.time(),
        }  # fmt: skip
        try:
            # Stopped by the user: its record already says what happened, and stays so.
            recorded = await self.cancelled(live.id) or await self._record_end(live.id, changes)
        except anyio.get_cancelled_exc_class():
            self._live.pop(live.id, None)
            live.done.set()
            raise
        with anyio.CancelScope(shield=True):
            await live.fan_out()
            live.done.set()
            self._live.pop(live.id, None)
            if recorded:
                try:
                    await self._claim_next(live.scope, live.record.kind)
                except StoreUnavailable:
                    pass  # the sweep starts queued work once the store answers

    async def _record_end(self, job_id: str, changes: dict[str, object]) -> bool:
        """Write a job's end, retrying while the store does not answer (the result is only in
        memory until then). False if the server stopped first: the job stays on record,
        running, and is adopted by another worker."""
        pause = 0.0
        while True:
            await anyio.sleep(pause)
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.update_job(job_id, heartbeat_at=time.time(), **changes)
                    return True
                except StoreUnavailable:
                    pause = min(END_RETRY_MAX_S, max(1.0, pause * 2))

    async def _ticker(self, live: RunningJob, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                await anyio.sleep(self._tick)
                if await self.cancelled(live.id) or live.closing:  # stopped elsewhere, or over
                    live.stop_scope.cancel()
                    return
                await live.report(f"Still working... {elapsed_words(time.time() - _started(live))}")
                await live.heartbeat()


def _started(live: RunningJob) -> float:
    return live.record.started_at or live.record.created_at
