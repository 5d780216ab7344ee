"""Long work owned by the server process, not by the tool call that asked for it.

Assistants stop waiting for a tool call after about 60 s, while a generation takes 100-300 s.
So a tool call starts (or joins) a job, waits at most ``NEMO_TOOL_WAIT`` seconds relaying the
job's progress, and returns either the result or ``running`` with the job's id. The job goes on
in the server's task group; asking again reports it, and a finished result is kept until it has
been reported once.

- The same message while its job is queued or running joins that job: it is never sent twice.
- A different message while an edit runs is queued and sent when the stream ends, in order.
- One export at a time: asking again joins the running one.
- A cancelled tool call cancels only its wait; the job goes on.

Progress is a percentage that only ever goes up (assistants show it as a bar), with a "still
working" message at least every ``TICK`` seconds while a job runs.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup

log = logging.getLogger(__name__)

JobKind = Literal["edit", "export"]
JobStatus = Literal["queued", "running", "done", "failed"]
Listener = Callable[[float, float, str], Awaitable[None]]
Work = Callable[["Job"], Awaitable[Any]]
Describe = Callable[[BaseException], str]

TICK = 5.0
CEILING = 99.9
STEP = 0.01


def elapsed_words(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass(eq=False)
class Job:
    id: str
    kind: JobKind
    key: str
    label: str
    status: JobStatus = "queued"
    result: Any = None
    error: str | None = None
    reported: bool = False
    percent: float = 0.0
    message: str = "Waiting for the previous request to finish."
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    listeners: list[Listener] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        start = self.started or self.created
        return (self.finished or time.monotonic()) - start

    async def report(self, message: str, fraction: float | None = None) -> None:
        """Tell every waiting caller how the job is doing; the percentage never goes down."""
        target = self.percent if fraction is None else max(0.0, min(1.0, fraction)) * 100
        self.percent = min(CEILING, max(target, self.percent + STEP))
        self.message = message
        await self._fan_out()

    async def _fan_out(self) -> None:
        for listener in list(self.listeners):
            try:
                await listener(self.percent, 100.0, self.message)
            except Exception:  # a client that went away must not break the job
                log.debug("a progress listener failed", exc_info=True)


class JobManager:
    """Starts, queues, joins and remembers jobs inside one task group."""

    def __init__(self, task_group: TaskGroup, describe: Describe, *, tick: float = TICK):
        self._tg = task_group
        self._describe = describe
        self._tick = tick
        self._ids = itertools.count(1)
        self._jobs: dict[str, Job] = {}
        self._edit_queue: deque[tuple[Job, Work]] = deque()
        self._edit_running: Job | None = None

    # -- looking up ------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def active(self, kind: JobKind, key: str | None = None) -> Job | None:
        for job in self._jobs.values():
            if job.kind == kind and job.active and (key is None or job.key == key):
                return job
        return None

    def outstanding(self) -> list[Job]:
        """Running, queued and finished-but-unreported jobs, oldest first."""
        return [j for j in self._jobs.values() if j.active or not j.reported]

    def unreported(self, kind: JobKind | None = None) -> list[Job]:
        return [
            j
            for j in self._jobs.values()
            if not j.active and not j.reported and (kind is None or j.kind == kind)
        ]

    def queue_position(self, job: Job) -> int:
        """1 for the next to run; 0 when not queued."""
        for place, (queued, _) in enumerate(self._edit_queue, start=1):
            if queued is job:
                return place
        return 0

    # -- starting --------------------------------------------------------------------------
    def submit(self, kind: JobKind, key: str, label: str, work: Work) -> tuple[Job, bool]:
        """The job for this work: an active one with the same key (joined), or a new one."""
        if existing := self.active(kind, key if kind == "edit" else None):
            return existing, True
        job = Job(id=f"{kind}-{next(self._ids)}", kind=kind, key=key, label=label)
        self._jobs[job.id] = job
        if kind == "edit" and self._edit_running is not None:
            self._edit_queue.append((job, work))
            job.message = f"Queued behind another request (place {len(self._edit_queue)})."
        else:
            self._start(job, work)
        return job, False

    def _start(self, job: Job, work: Work) -> None:
        if job.kind == "edit":
            self._edit_running = job
        job.status = "running"
        job.started = time.monotonic()
        job.message = "Started."
        self._tg.start_soon(self._run, job, work)

    async def _run(self, job: Job, work: Work) -> None:
        ticker = anyio.CancelScope()
        self._tg.start_soon(self._ticker, job, ticker)
        try:
            job.result = await work(job)
            job.status = "done"
        except anyio.get_cancelled_exc_class():
            job.status, job.error = "failed", "The server stopped before this finished."
            raise
        except Exception as exc:
            job.status, job.error = "failed", self._describe(exc)
            log.warning("%s failed: %s", job.id, type(exc).__name__, exc_info=True)
        finally:
            ticker.cancel()
            job.finished = time.monotonic()
            if job.status == "done":
                job.percent, job.message = 100.0, "Done."
            await job._fan_out()
            job.done.set()
            if self._edit_running is job:
                self._edit_running = None
                self._next_edit()

    def _next_edit(self) -> None:
        if self._edit_queue:
            job, work = self._edit_queue.popleft()
            for place, (queued, _) in enumerate(self._edit_queue, start=1):
                queued.message = f"Queued behind another request (place {place})."
            self._start(job, work)

    async def _ticker(self, job: Job, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                await anyio.sleep(self._tick)
                await job.report(f"Still working... {elapsed_words(job.elapsed)}")

    # -- waiting ---------------------------------------------------------------------------
    async def wait(self, job: Job, timeout: float, listener: Listener | None = None) -> Job:
        """Wait for ``job`` at most ``timeout`` seconds, relaying its progress to ``listener``."""
        if listener is not None:
            job.listeners.append(listener)
        try:
            if listener is not None and job.active:
                await listener(job.percent, 100.0, job.message)
            with anyio.move_on_after(timeout):
                await job.done.wait()
        finally:
            if listener is not None and listener in job.listeners:
                job.listeners.remove(listener)
        return job
