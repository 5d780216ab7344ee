"""Work whose worker died is taken over, whether or not its user is asking.

A job's worker heartbeats its record; every ``SWEEP_S`` each worker looks at every running job
and adopts the ones whose worker is gone (its pid ended on this host, or no heartbeat for
``jobs.STALE_S``). Adoption is one conditional update in the store, so exactly one worker wins.
The job then resumes from its record: an export polls its recorded render (never submitted
again); an edit whose message went out is reported as interrupted (never sent again). Jobs this
worker had to stop because the store did not answer are resumed here too, once it answers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from nemo_mcp.jobs import JobManager
from nemo_mcp.remote.outage import Incident
from nemo_mcp.store import Scope, StateStore

if TYPE_CHECKING:
    from nemo_mcp.remote.dispatch import Engine

log = logging.getLogger(__name__)

SWEEP_S = 2.0


async def sweep_once(store: StateStore, jobs: JobManager) -> int:
    """Look at every user's running jobs once; the number of scopes looked at."""
    running = getattr(store, "running_jobs", None)
    if running is None:
        return 0
    scopes: set[Scope] = {record.scope for record in await running()}
    for scope in scopes:
        await jobs.recover(scope)
    return len(scopes)


async def sweep(
    store: StateStore, jobs: JobManager, engine: Engine | None, every: float = SWEEP_S
) -> None:
    """Sweep every ``every`` s; a failing store is logged once per outage (``Incident``)."""
    incident = Incident("the sweep for orphaned work")
    while True:
        try:
            await jobs.resume_stranded()
            if incident.ongoing:  # the store is back: owners first, then adoption by silence
                jobs.store_returned()
            await sweep_once(store, jobs)
            if engine is not None and (closed := await engine.close_stalled()):
                log.info("closed %d queue entries of workers that died", closed)
            incident.ok()
        except Exception as exc:  # noqa: BLE001 - retried on the next round
            incident.failed(exc)
        await anyio.sleep(every)
