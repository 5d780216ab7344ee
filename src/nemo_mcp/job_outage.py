"""A job through an outage of its store: its end is kept until written, its work resumed after.

The shared server's store is a database that can go away (remote/outage.py turns that into
``StoreUnavailable``). A job that meets it must not be lost nor take its worker down:

- Its end (result or error) is in memory only until written: ``record_end`` retries the write
  with a capped backoff, each try shielded, the pauses not, so a stopping server leaves the job
  on record, running, for another worker to adopt.
- Work that stopped because a store call failed is not the job's failure: the job stays on
  record, running, and ``Stranded`` starts it again from its record, ``resumed``, once the store
  answers (the sweep asks every round), as an adopted job would be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio

from nemo_mcp.errors import StoreUnavailable
from nemo_mcp.store import JobRecord, StateStore

log = logging.getLogger("nemo_mcp.jobs")

END_RETRY_MAX_S = 5.0


async def record_end(store: StateStore, job_id: str, changes: dict[str, object]) -> bool:
    """Write a job's end, retrying while the store does not answer; False never: a cancelled
    wait raises (the job then stays on record, running, and is adopted elsewhere)."""
    pause = 0.0
    while True:
        await anyio.sleep(pause)
        with anyio.CancelScope(shield=True):
            try:
                await store.update_job(job_id, heartbeat_at=time.time(), **changes)
                return True
            except StoreUnavailable:
                pause = min(END_RETRY_MAX_S, max(1.0, pause * 2))


class Stranded:
    """The jobs of this process a store outage stopped, waiting to be started again."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def add(self, job_id: str) -> None:
        self.ids.add(job_id)

    async def resume(
        self, store: StateStore, holder: str, start: Callable[[JobRecord], object]
    ) -> None:
        """Start each one again from its record, if it is still running and still ours."""
        for job_id in list(self.ids):
            record = await store.job(job_id)
            self.ids.discard(job_id)
            if record is not None and record.status == "running" and record.owner == holder:
                log.info("%s: the store answers again; resuming it", job_id)
                start(record)
