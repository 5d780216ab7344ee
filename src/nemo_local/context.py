"""What one running local backend shares between its routes: settings, switches, counters,
bookkeeping, and the task group that owns work outliving a request (turns, renders)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from nemo_local.config import LocalBackendConfig
from nemo_local.render_queue import Renders
from nemo_local.state import BackendState
from nemo_local.stats import Stats
from nemo_local.turns import TurnRunner

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

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Create the data folders, one HTTP client (URL uploads) and the task group; on exit,
        ask renders to stop and cancel what still runs."""
        self.store.media_dir.mkdir(parents=True, exist_ok=True)
        self.renders.directory.mkdir(parents=True, exist_ok=True)
        async with (
            httpx.AsyncClient(timeout=URL_FETCH_TIMEOUT_S, trust_env=False) as http,
            anyio.create_task_group() as task_group,
        ):
            self._task_group, self._http = task_group, http
            self._runner = TurnRunner(self.config, self.store, self.faults, task_group)
            try:
                yield
            finally:
                self.renders.cancel_all()
                task_group.cancel_scope.cancel()
                self._task_group = self._runner = None

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
