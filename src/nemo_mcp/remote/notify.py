"""A call waiting for a job another worker runs is woken by PostgreSQL, not by re-reading.

A trigger on ``nemo_jobs`` sends ``NOTIFY nemo_jobs, '<job id>'`` whenever a job's status,
message or percentage changes (whoever changed it: the worker running it, an adoption, a claim).
Each worker keeps one connection that ``LISTEN``s (``Notifier.listen``, supervised: it
reconnects after an outage) and wakes the calls waiting for that job. A waiting call still
re-reads the record every ``SAFETY_S`` in case a notification was lost (the listening
connection broke between two reads); while the worker is not listening it re-reads at the old
pace, ``jobs.POLL_S``.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import anyio
import psycopg

from nemo_mcp.jobs import POLL_S
from nemo_mcp.remote.outage import Incident
from nemo_mcp.settings import Resilience

log = logging.getLogger("nemo_mcp.remote")

CHANNEL = "nemo_jobs"
SAFETY_S = 3.0
"""The slow re-read of a waited-for job, should a notification be lost."""
SCHEMA_LOCK = 0x6E656D6F  # the same lock as pg_store's schema
TRIGGER = """
CREATE OR REPLACE FUNCTION nemo_jobs_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('nemo_jobs', NEW.id);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nemo_jobs_changed') THEN
        CREATE TRIGGER nemo_jobs_changed AFTER UPDATE ON nemo_jobs FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.message IS DISTINCT FROM NEW.message
              OR OLD.percent IS DISTINCT FROM NEW.percent)
        EXECUTE FUNCTION nemo_jobs_notify();
    END IF;
END $$;
"""


class Notifier:
    """Wakes the waiting calls of this worker when PostgreSQL says their job changed."""

    def __init__(self, url: str, resilience: Resilience | None = None) -> None:
        self.url = url
        self.resilience = resilience or Resilience()
        self.listening = False
        self._waiting: dict[str, set[anyio.Event]] = defaultdict(set)
        self.incident = Incident("listening for job changes")

    async def install(self) -> None:
        """The trigger, once per database (workers starting together take turns)."""
        async with await self._connect() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await db.execute(TRIGGER)

    async def listen(self) -> None:
        """Listen until the connection breaks (the caller supervises it)."""
        try:
            async with await self._connect() as db:
                await db.execute(f"LISTEN {CHANNEL}")
                self.listening = True
                self._wake_all()  # anything may have changed while we were not listening
                async for note in db.notifies():
                    self._wake(note.payload)
        finally:
            self.listening = False

    async def wait(self, job_id: str, timeout: float = SAFETY_S) -> None:
        """Until the job changes (or ``timeout``; ``POLL_S`` while not listening)."""
        if not self.listening:
            await anyio.sleep(min(timeout, POLL_S))
            return
        event = anyio.Event()
        self._waiting[job_id].add(event)
        try:
            with anyio.move_on_after(timeout):
                await event.wait()
        finally:
            waiting = self._waiting.get(job_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[job_id]

    def _wake(self, job_id: str) -> None:
        for event in self._waiting.get(job_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for job_id in list(self._waiting):
            self._wake(job_id)

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        timeout = max(2, round(self.resilience.connect_timeout))
        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=timeout
        )
