"""What one running local backend shares between its routes: settings, switches, counters,
bookkeeping, and the task group that owns work outliving a request (turns, renders).

With ``keep_state`` it loads the saved state when it starts (pruned by the rule in
``nemo_local.persist``) and saves it after every change: the snapshot is taken on the event loop,
the file is written (fsync included) by a writer task in a worker thread, changes that come
while it writes are coalesced into the next write, and the last state is written at stop. The
caller holds the folder's lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from nemo_local import persist
from nemo_local.config import LocalBackendConfig
from nemo_local.render_queue import Renders
from nemo_local.state import BackendState
from nemo_local.stats import Stats
from nemo_local.turns import TurnRunner

log = logging.getLogger(__name__)

URL_FETCH_TIMEOUT_S = 30.0


class Backend:
    """The shared state of one backend; ``running()`` is its lifespan."""

    def __init__(self, config: LocalBackendConfig) -> None:
        self.config = config
        self.faults = config.faults.copy()
        self.stats = Stats()
        self.store = BackendState(config)
        self.renders = Renders(config.data_dir / "renders", config.canvas)
        self._task_group: TaskGroup | None = None
        self._http: httpx.AsyncClient | None = None
        self._runner: TurnRunner | None = None
        self._loaded = False
        self._writer_live = False
        """The writer task runs: ``save`` asks it (``_dirty``) instead of writing at once."""
        self._dirty: anyio.Event | None = None

    def load(self) -> None:
        """Restore the saved state (pruned first), then save after every change. Runs inside the
        event loop (render jobs hold loop objects)."""
        saved = persist.read_state(self.config.data_dir)
        try:
            kept, pruned = persist.prune_state(saved, time.time())
            self.store.restore(kept.get("store", {}))
            self.renders.restore(kept.get("renders", []), self.store.session_ids())
        except (KeyError, TypeError, ValueError, AttributeError):
            log.exception("the saved local state does not fit; it is set aside, starting afresh")
            persist.set_aside(self.config.data_dir)
            self.store = BackendState(self.config)
            self.renders = Renders(self.config.data_dir / "renders", self.config.canvas)
            pruned = 0
        self._loaded = True
        self.store.changed = self.renders.changed = self.save
        if pruned:
            log.info("pruned %d local session(s) idle for %d days", pruned, persist.KEEP_DAYS)
        self.save()
        files, _ = persist.remove_orphans(
            self.config.data_dir, persist.named_files(self.snapshot()), time.time()
        )
        if files:
            log.info("removed %d local file(s) no record names", files)

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": persist.FORMAT,
            "store": self.store.snapshot(),
            "renders": self.renders.snapshot(),
        }

    def save(self) -> None:
        """Have the state written: by the writer task when it runs, else now."""
        if self._writer_live and self._dirty is not None:
            self._dirty.set()
        else:
            self._write(persist.encode(self.snapshot()))

    def _write(self, payload: bytes) -> None:
        """A failure is logged: the work itself goes on."""
        try:
            persist.write_atomic(self.config.data_dir / persist.STATE_FILE, payload)
        except OSError:
            log.exception("could not save the local backend's state")

    async def _writer(self, dirty: anyio.Event) -> None:
        while True:
            await dirty.wait()
            # A new event before the snapshot: a change made during the write asks for another.
            self._dirty = dirty = anyio.Event()
            await anyio.to_thread.run_sync(self._write, persist.encode(self.snapshot()))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Create the data folders, one HTTP client (URL uploads) and the task group; on exit,
        ask renders to stop and cancel what still runs."""
        persist.private_folder(self.config.data_dir)
        self.store.media_dir.mkdir(parents=True, exist_ok=True)
        self.renders.directory.mkdir(parents=True, exist_ok=True)
        if self.config.keep_state and not self._loaded:
            self.load()
        async with (
            httpx.AsyncClient(timeout=URL_FETCH_TIMEOUT_S, trust_env=False) as http,
            anyio.create_task_group() as task_group,
        ):
            self._task_group, self._http = task_group, http
            self._runner = TurnRunner(self.config, self.store, self.faults, task_group)
            if self._loaded:
                self._dirty, self._writer_live = anyio.Event(), True
                task_group.start_soon(self._writer, self._dirty)
            try:
                yield
            finally:
                self._writer_live = False
                self.renders.cancel_all()
                task_group.cancel_scope.cancel()
                self._task_group = self._runner = None
        if self._loaded:  # the last word, written here: what the cancelled work gave back
            self._write(persist.encode(self.snapshot()))

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the local backend is not running")
        return self._http

    @property
    def runner(self) -> TurnRunner:
        if self._runner is None:
            raise RuntimeError("the local backend is not running")
        return self._runner

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        """Run ``func`` in the backend's task group (it outlives the request that starts it)."""
        if self._task_group is None:
            raise RuntimeError("the local backend is not running")
        self._task_group.start_soon(func, *args)
