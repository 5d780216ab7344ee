"""New jobs go to whichever worker is free, through procrastinate (PostgreSQL's job queue).

procrastinate is maintained, asyncio-native, and keeps its queue in the same PostgreSQL the
store uses, so a job and its dispatch live side by side and every worker sees every job. A new
job's record is written first (owner ``dispatched``), then deferred as ``nemo.run_job`` with a
*queueing lock* on its scope, kind and key: the same request can never be queued twice, even if
two workers were asked for it at the same moment. The worker that picks it takes the record
over with one conditional update (``JobManager.run_dispatched``): a duplicate delivery finds it
taken and does nothing. When a worker dies, procrastinate's record of that job stalls; the sweep
(sweep.py) takes the *nemo* job over from its heartbeat and closes the stalled queue entry.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as engine_errors
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager

from nemo_mcp.jobs import JobManager
from nemo_mcp.remote.outage import pool_options
from nemo_mcp.settings import Resilience
from nemo_mcp.store import JobRecord

log = logging.getLogger(__name__)

QUEUE = "nemo"
TASK = "nemo.run_job"
SCHEMA_LOCK = 0x70726F63  # "proc"
CONCURRENCY = 100
"""Jobs one worker runs at once: they wait on the network (streams, render polls), not the CPU."""
STALLED_AFTER_S = 15.0


def queueing_lock(record: JobRecord) -> str:
    """One queued entry per request: the scope, kind and key, hashed (the key may be long)."""
    scope = record.scope
    raw = "\x1f".join((scope.backend, scope.user, scope.skill, record.kind, record.key))
    return "nemo:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


async def apply_schema(url: str) -> None:
    """procrastinate's tables, once per database (workers starting together take turns)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cur = await db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await cur.fetchone()
            if row and row[0]:
                return
            await db.execute(SchemaManager.get_schema())


class Engine:
    """The procrastinate app of one worker: defers new jobs, runs the ones it is handed."""

    def __init__(
        self, url: str, jobs: JobManager | None = None, resilience: Resilience | None = None
    ) -> None:
        self.jobs = jobs
        options = pool_options(resilience or Resilience())
        options.pop("check")  # procrastinate checks its connections itself
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=url, min_size=1, max_size=4, **options
            )
        )

        @self.app.task(name=TASK, queue=QUEUE)
        async def run_job(job_id: str, handed_at: float) -> None:
            if self.jobs is None:
                raise RuntimeError("the job manager is not set")
            await self.jobs.run_dispatched(job_id, handed_at)

        self._run_job: Any = run_job

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[Engine]:
        async with self.app.open_async():
            yield self

    async def dispatch(self, record: JobRecord) -> None:
        deferrer = self._run_job.configure(queueing_lock=queueing_lock(record))
        try:
            await deferrer.defer_async(job_id=record.id, handed_at=record.heartbeat_at)
        except engine_errors.AlreadyEnqueued:
            log.info("%s: the same request is already queued", record.id)
        except engine_errors.ConnectorException:
            # The job is on record (owner "dispatched"): a sweep adopts it once its heartbeat
            # is stale, so the call can answer "running" and nothing is lost.
            log.warning("%s: the job engine did not take it; the sweep will", record.id)

    async def work(self, name: str) -> None:
        """Take jobs until cancelled (the server's lifespan owns this task, supervised).

        On cancellation the engine stops fetching and lets go of the jobs it handed out after a
        second: they run in the job manager's task group, not in the engine's."""
        await self.app.run_worker_async(
            queues=[QUEUE], name=name, concurrency=CONCURRENCY, wait=True,
            install_signal_handlers=False, listen_notify=True,
            fetch_job_polling_interval=1.0, update_heartbeat_interval=5.0,
            stalled_worker_timeout=STALLED_AFTER_S, shutdown_graceful_timeout=1.0,
        )  # fmt: skip

    async def close_stalled(self) -> int:
        """Close the queue entries of workers that died (their nemo jobs are adopted)."""
        manager = self.app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S))
        closed = 0
        for job in stalled:
            try:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                closed += 1
            except engine_errors.ConnectorException:
                pass  # another worker's sweep closed it first
        return closed
