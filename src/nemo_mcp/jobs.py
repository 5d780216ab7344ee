"""Long work on record: edits, exports and uploads that outlive the tool call that asked for them.

Assistants stop waiting for a tool call after about 60 s while a generation takes 30-120 s, so a
tool call submits (or joins) a job, waits at most ``NEMO_TOOL_WAIT`` relaying its progress, and
answers with the result or ``running`` and the job's id. Every job is a record in the store from
the moment it is asked for, so:

- The same request while its job is active joins it: a message is never sent twice. A different
  message while an edit is active is queued (``serial``) and sent when the running one ends, in
  order; the process that ends one edit claims the next.
- A finished result waits in the store until it is handed out, exactly once, in order
  (``take_finished``), whichever process is asked; a restart loses none.
- The process running a job heartbeats (every ``TICK``). A job whose process is gone (its pid is
  dead on this host, or it stopped heartbeating for ``STALE_S``) is adopted by whoever notices,
  with ``resumed`` set: the work decides what that means (an edit whose message went out is
  reported as interrupted and never re-sent; an export resumes polling its render).
- A cancelled tool call cancels only its own wait; the job goes on in the server's task group.

Progress is a percentage that only goes up (assistants draw it as a bar), with a "still working"
message at least every ``TICK`` seconds. The work itself is given as one function (``Run``) that
dispatches on the job's kind, so a job can be started again from its record after a restart.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel

from nemo_mcp.results import JobResult
from nemo_mcp.store import JobKind, JobRecord, Scope, StateStore
from nemo_mcp.store.lease import holder_is_gone
from nemo_mcp.store.records import ACTIVE_STATES

log = logging.getLogger(__name__)

TICK = 5.0
STALE_S = 30.0
POLL_S = 0.25
SAVE_EVERY_S = 1.0
CEILING = 99.9
STEP = 0.01
LABEL_CHARS = 120
WAIT_FOREVER_S = 24 * 3600.0

Listener = Callable[[float, float, str], Awaitable[None]]
Describe = Callable[[BaseException], str]
Run = Callable[["RunningJob"], Awaitable[JobResult]]
Dispatch = Callable[[JobRecord], Awaitable[None]]
Settle = Callable[["RunningJob", Sequence[JobKind], str], Awaitable[None]]
DISPATCHED = "dispatched"
"""The owner of a new job handed to a job engine, until one of its workers takes it."""


def elapsed_words(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass(eq=False)
class RunningJob:
    """A job as its work sees it: the record, and the way to say how it is going."""

    record: JobRecord
    resumed: bool
    store: StateStore
    percent: float = 0.0
    message: str = "Started."
    done: anyio.Event = field(default_factory=anyio.Event)
    listeners: list[Listener] = field(default_factory=list)
    after: Settle | None = field(default=None, repr=False)
    """How this job waits for earlier work (the manager's; None: it does not wait)."""
    _saved_at: float = 0.0

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def scope(self) -> Scope:
        return self.record.scope

    async def report(self, message: str, fraction: float | None = None) -> None:
        """Tell every waiting caller how the job is doing; the percentage never goes down."""
        target = self.percent if fraction is None else max(0.0, min(1.0, fraction)) * 100
        self.percent = min(CEILING, max(target, self.percent + STEP))
        self.message = message
        await self.fan_out()
        if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            await self.heartbeat()

    async def heartbeat(self) -> None:
        self._saved_at = time.monotonic()
        await self.store.update_job(
            self.id, message=self.message, percent=self.percent, heartbeat_at=time.time()
        )

    async def remember(self, request: BaseModel) -> None:
        """Keep what the work learned (say, the draft before an edit) for whoever resumes it."""
        self.record = replace(self.record, request=request.model_dump_json())
        await self.store.update_job(self.id, request=self.record.request)

    async def settled(self, kinds: Sequence[JobKind], doing: str) -> None:
        """Wait until no earlier job of ``kinds`` is active in this job's scope (an edit waits
        for the uploads it may refer to, an export for the edits it should contain)."""
        if self.after is not None:
            await self.after(self, kinds, doing)

    async def fan_out(self) -> None:
        for listener in list(self.listeners):
            try:
                await listener(self.percent, 100.0, self.message)
            except Exception:  # a client that went away must not break the job
                log.debug("a progress listener failed", exc_info=True)


class JobManager:
    """Submits, runs, joins, adopts and hands out jobs; one per server process."""

    def __init__(
        self,
        store: StateStore,
        task_group: TaskGroup,
        run: Run,
        describe: Describe,
        *,
        holder: str,
        tick: float = TICK,
        stale_s: float = STALE_S,
        dispatch: Dispatch | None = None,
    ) -> None:
        self.store = store
        self.holder = holder
        self._tg = task_group
        self._run = run
        self._describe = describe
        self._tick = tick
        self._stale_s = stale_s
        self._dispatch = dispatch
        self._live: dict[str, RunningJob] = {}

    # -- asking ----------------------------------------------------------------------------
    async def submit(
        self, scope: Scope, kind: JobKind, key: str, label: str, request: BaseModel, *, serial: bool
    ) -> tuple[JobRecord, bool]:
        """The active job for ``key`` (joined: True), or a new one, running or queued."""
        now = time.time()
        owner = DISPATCHED if self._dispatch else self.holder
        record = JobRecord(
            id=f"{kind}-{uuid.uuid4().hex[:10]}", scope=scope, kind=kind, key=key,
            label=" ".join(label.split())[:LABEL_CHARS], status="running",
            request=request.model_dump_json(), message="Started.", owner=owner,
            heartbeat_at=now, created_at=now, started_at=now,
        )  # fmt: skip
        stored, joined = await self.store.add_job(record, serial=serial)
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

    async def take_finished(
        self, scope: Scope, *, kinds: Sequence[JobKind] = (), ids: Sequence[str] = ()
    ) -> list[JobRecord]:
        """Finished results not yet handed out, now marked handed out (each goes once)."""
        return await self.store.take_unreported(scope, kinds=kinds, ids=ids)

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
        """``RunningJob.settled``: wait out the earlier active jobs of ``kinds``."""
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
            await anyio.sleep(POLL_S)

    # -- recovering ------------------------------------------------------------------------
    async def recover(self, scope: Scope) -> None:
        """Adopt the jobs of ``scope`` whose process is gone; start queued work nobody runs."""
        for record in await self.store.jobs(scope, states=["running"]):
            await self._adopt_if_orphaned(record)
        for kind in ("edit", "export", "upload"):
            await self._claim_next(scope, kind)

    async def _adopt_if_orphaned(self, record: JobRecord) -> None:
        if record.status != "running" or record.id in self._live:
            return
        now = time.time()
        silent_since = now + 1 if holder_is_gone(record.owner) else now - self._stale_s
        adopted = await self.store.adopt(record.id, self.holder, silent_since)
        if adopted is not None:
            log.info("%s: its process is gone; taking it over", record.id)
            self._start(adopted, resumed=True)

    async def _claim_next(self, scope: Scope, kind: JobKind) -> None:
        claimed = await self.store.claim_next(scope, kind, self.holder)
        if claimed is not None:
            self._start(claimed, resumed=False)

    # -- running ---------------------------------------------------------------------------
    def _start(self, record: JobRecord, *, resumed: bool) -> RunningJob:
        live = RunningJob(record, resumed, self.store, percent=record.percent, after=self._settle)
        self._live[record.id] = live
        self._tg.start_soon(self._execute, live)
        return live

    async def _execute(self, live: RunningJob) -> None:
        ticker = anyio.CancelScope()
        self._tg.start_soon(self._ticker, live, ticker)
        status, result, error = "failed", None, None
        try:
            outcome = await self._run(live)
            status, result = "done", outcome.model_dump_json()
            if outcome.status == "interrupted":
                status = "interrupted"
        except anyio.get_cancelled_exc_class():
            # The server is stopping: leave the record running; the next process adopts it.
            ticker.cancel()
            self._live.pop(live.id, None)
            raise
        except Exception as exc:
            error = self._describe(exc)
            log.warning("%s failed: %s", live.id, type(exc).__name__)
        ticker.cancel()
        if status != "failed":
            live.percent, live.message = 100.0, "Done."
        with anyio.CancelScope(shield=True):
            await self.store.update_job(
                live.id, status=status, result=result, error=error, percent=live.percent,
                message=live.message if status != "failed" else (error or "Failed."),
                finished_at=time.time(), heartbeat_at=time.time(),
            )  # fmt: skip
            await live.fan_out()
            live.done.set()
            self._live.pop(live.id, None)
            await self._claim_next(live.scope, live.record.kind)

    async def _ticker(self, live: RunningJob, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                await anyio.sleep(self._tick)
                await live.report(f"Still working... {elapsed_words(time.time() - _started(live))}")
                await live.heartbeat()


def _started(live: RunningJob) -> float:
    return live.record.started_at or live.record.created_at
