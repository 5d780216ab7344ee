"""A job as its work sees it, and the rules and words every job shares (see ``jobs``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import anyio
from pydantic import BaseModel

from nemo_mcp.errors import StoreUnavailable
from nemo_mcp.store import JobKind, JobRecord, Scope, StateStore

log = logging.getLogger(__name__)

TICK = 5.0
STALE_S = 30.0
POLL_S = 0.25
SAVE_EVERY_S = 1.0
CEILING = 99.9
STEP = 0.01
LABEL_CHARS = 120
WAIT_FOREVER_S = 24 * 3600.0
END_RETRY_MAX_S = 5.0

Listener = Callable[[float, float, str], Awaitable[None]]
Describe = Callable[[BaseException], str]
Run = Callable[["RunningJob"], Awaitable[BaseModel]]
Telling = Literal["in_order", "own", "latest"]
"""How a kind's finished results are told: ``in_order``: each one, and before it every older one
nobody was told yet (edits: none is skipped or told late); ``own``: each to whoever waits for it
(uploads); ``latest``: only the newest, older ones superseded unsaid (exports)."""
Dispatch = Callable[[JobRecord], Awaitable[None]]
Wake = Callable[[str], Awaitable[None]]
"""Returns when a job another process runs may have changed (or after a while, anyway)."""
Admit = Callable[[Scope, str, str], Awaitable[None]]
"""Asked before a new job is recorded (scope, kind, key); raises to refuse it (a shared
server's per-user limit)."""
DISPATCHED = "dispatched"
"""The owner of a new job handed to a job engine, until one of its workers takes it."""


class KindRules(Protocol):
    """What the manager needs to know of a kind of job (``flows.kinds.JobSpec``)."""

    @property
    def kind(self) -> JobKind: ...
    @property
    def serial(self) -> bool: ...
    @property
    def tells(self) -> Telling: ...
    @property
    def after(self) -> tuple[JobKind, ...]: ...
    @property
    def waiting(self) -> str: ...
    def key_of(self, request: BaseModel) -> str: ...
    def label_of(self, request: BaseModel) -> str: ...


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
    closing: bool = False  # the work ended: no "still working" after "Done."
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
        if self.closing:
            return
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
