"""A job as its work sees it: its record, and the way to say how it is going.

Progress is a percentage that only goes up (assistants draw it as a bar), fanned out to every
caller waiting for the job and saved on record (at most every ``SAVE_EVERY_S``, and at each
heartbeat), so a caller on another process follows it too. A heartbeat the store does not take
(an outage of the shared server's database) is skipped: it is progress only, the next one saves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import anyio
from pydantic import BaseModel

from nemo_mcp.errors import StoreUnavailable
from nemo_mcp.store import JobRecord, Scope, StateStore

log = logging.getLogger("nemo_mcp.jobs")

SAVE_EVERY_S = 1.0
CEILING = 99.9
STEP = 0.01

Listener = Callable[[float, float, str], Awaitable[None]]


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
    stop_scope: anyio.CancelScope = field(default_factory=anyio.CancelScope, repr=False)
    stopped: str | None = None
    """Why the job was stopped on request (``JobManager.stop``), in the user's words."""
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
        try:
            await self.store.update_job(
                self.id, message=self.message, percent=self.percent, heartbeat_at=time.time()
            )
        except StoreUnavailable:  # progress only: the next heartbeat saves it
            log.debug("%s: the store did not take a heartbeat", self.id)

    async def remember(self, request: BaseModel) -> None:
        """Keep what the work learned (say, the draft before an edit) for whoever resumes it."""
        self.record = replace(self.record, request=request.model_dump_json())
        await self.store.update_job(self.id, request=self.record.request)

    async def fan_out(self) -> None:
        for listener in list(self.listeners):
            try:
                await listener(self.percent, 100.0, self.message)
            except Exception:  # a client that went away must not break the job
                log.debug("a progress listener failed", exc_info=True)
