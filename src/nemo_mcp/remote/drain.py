"""A worker's life: ready, draining after SIGTERM, stopped — or dead on purpose, exit status 1.

A rolling deploy sends SIGTERM to one worker at a time. uvicorn alone would close its socket at
once, and requests the balancer had already sent there would fail. ``DrainingServer`` first only
turns ``/readyz`` to 503 (``Lifecycle.draining``) and stops taking new work from the job engine,
while it goes on serving; ``NEMO_DRAIN`` seconds later (the balancer has taken it out by then)
it stops listening, lets the calls it holds finish (up to ``NEMO_TOOL_WAIT``), and the lifespan
gives its jobs a last chance to finish before leaving the rest on record, released for another
worker to adopt at once. A second signal stops it without the drain.

A worker that can no longer serve (its lifespan failed after start) must not linger as a live
process nobody restarts: ``Lifecycle.fatal`` makes ``serve --http`` exit with status 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType

import anyio
import uvicorn

from nemo_mcp.store import StateStore

log = logging.getLogger("nemo_mcp.remote")

FATAL_EXIT = 1
RELEASE_WAIT_S = 2.0


class Lifecycle:
    """What the routes and the lifespan need to know about the process's state."""

    def __init__(self) -> None:
        self.draining = False
        self.exit_code = 0
        self.server: DrainingServer | None = None
        self.taking_work: anyio.CancelScope | None = None
        """Cancelled when the drain starts: the job engine's worker loop runs inside it."""

    def drain(self) -> None:
        if not self.draining:
            self.draining = True
            if self.taking_work is not None:
                self.taking_work.cancel()

    def fatal(self, exc: BaseException) -> None:
        """The worker cannot serve any more: exit non-zero so its supervisor starts a new one."""
        log.critical(
            "the worker cannot serve any more (%s); exiting", type(exc).__name__, exc_info=exc
        )
        self.exit_code = FATAL_EXIT
        if self.server is not None:
            self.server.should_exit = True


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain between the first SIGTERM (or SIGINT) and the stop."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_s: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        lifecycle.server = self
        self.drain_s = drain_s
        self.stop_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.stop_at is not None or self.drain_s <= 0:
            super().handle_exit(sig, frame)  # the second signal: stop now
            return
        # Runs in the signal handler: only set flags; on_tick acts on them.
        self.stop_at = time.monotonic() + self.drain_s
        self.lifecycle.drain()

    async def on_tick(self, counter: int) -> bool:
        if self.stop_at is not None and counter % 10 == 0 and self.lifecycle.draining:
            if time.monotonic() >= self.stop_at:
                log.info("drained: no longer listening; finishing the calls in flight")
                self.should_exit = True
            elif counter % 50 == 0:
                log.info("draining: /readyz answers 503 until the balancer has moved away")
        return await super().on_tick(counter)


async def let_jobs_finish(held: Callable[[], Sequence[str]], within: float) -> None:
    """Wait until this worker runs no job any more, at most ``within`` seconds."""
    with anyio.move_on_after(within):
        while held():
            await anyio.sleep(0.2)


async def take_work(life: Lifecycle, loop: Callable[[], Awaitable[None]]) -> None:
    """Run the job engine's loop until the drain starts (then it takes no new job)."""
    if life.draining:
        return
    with anyio.CancelScope() as life.taking_work:
        await loop()


async def release(store: StateStore, held: list[str]) -> None:
    """Leave the jobs this worker still held on record, with no heartbeat: another worker's
    sweep adopts them on its next round instead of waiting for them to look stale."""
    for job_id in held:
        try:
            with anyio.fail_after(RELEASE_WAIT_S):
                await store.update_job(job_id, heartbeat_at=0.0)
        except Exception:  # noqa: BLE001 - then they are adopted when they look stale
            log.info("%s left on record; it is adopted once it looks stale", job_id)
