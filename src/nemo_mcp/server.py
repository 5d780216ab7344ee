"""The MCP server for one skill: a lifespan that owns the shared parts, and the registry.

The lifespan builds, once per process: the store (``state.db`` in the config folder), the one
backend client, the task group where long work runs (jobs outlive the tool calls that ask for
them) and the job manager; with ``--local`` it first starts the embedded backend on loopback.
Jobs a previous process left behind are recovered in the background, so start-up stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer

from nemo_mcp import __version__
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.deployment import Deployment
from nemo_mcp.flows.kinds import SPECS, Work
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Retention, SQLiteStore, StateStore
from nemo_mcp.store.lease import process_holder
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.edge import Edge
from nemo_mcp.tools.registry import player, register
from nemo_mcp.tools.runtime import Runtime, build_runtime
from nemo_mcp.uploads import heic_available
from nemo_mcp.words import user_message

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class Running:
    """The lifespan's ``Runtime`` while the server runs, for handlers that get no context."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def __call__(self) -> Runtime:
        if self.runtime is None:
            raise LookupError("the server is not running")
        return self.runtime


T = TypeVar("T")


def skill_server(
    manifest: Manifest,
    texts: ToolTexts,
    lifespan: Callable[[MCPServer[T]], AbstractAsyncContextManager[T]],
    media_url: Callable[[], str | None],
) -> MCPServer[T]:
    """The MCPServer every transport serves (stdio here, HTTP in ``remote``): one skill's words,
    the player App, and the edge every answer passes on its way out."""
    return MCPServer(
        name="nemo-mcp",
        title=manifest.display_name,
        version=__version__,
        instructions=texts.instructions,
        lifespan=lifespan,
        extensions=[player(manifest, texts, media_url)],
        middleware=[Edge()],
    )


def create_server(
    manifest: Manifest,
    settings: Settings,
    *,
    local_data_dir: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: StateStore | None = None,
) -> MCPServer[Runtime]:
    """The server for one skill. ``local_data_dir`` starts the embedded backend in-process;
    ``transport`` and ``store`` are for tests (a mock backend, an in-memory store)."""
    running = Running()
    embedded = local_data_dir is not None

    @asynccontextmanager
    async def lifespan(server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with AsyncExitStack() as stack:
            active = settings
            if local_data_dir is not None:
                from nemo_mcp.offline import embedded_backend

                active = await stack.enter_async_context(embedded_backend(settings, local_data_dir))
            for warning in active.warnings:
                log.warning("%s", warning)
            state = store or SQLiteStore.in_folder(active.config_dir)
            if store is None:
                stack.push_async_callback(state.close)
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)

            def manager(work: Work) -> JobManager:
                # Every job of this server is its one user's: the manager runs their work.
                return JobManager(
                    state, task_group, work, user_message, kinds=SPECS, holder=process_holder()
                )

            deployment = Deployment.of(active, embedded=embedded)
            runtime = build_runtime(
                active, manifest, state, manager, deployment, transport=transport
            )
            stack.push_async_callback(runtime.client.aclose)
            task_group.start_soon(_tidy, state, runtime.jobs, runtime.client)
            running.runtime = runtime
            try:
                yield runtime
            finally:
                running.runtime = None

    texts = ToolTexts.for_manifest(
        manifest, settings, Deployment.of(settings, embedded=embedded), heic=heic_available()
    )

    def media_url() -> str | None:
        """Where the player may load videos from: the backend (offline, once it runs)."""
        if running.runtime is not None:
            return running.runtime.settings.api_url
        return None if embedded else settings.api_url

    mcp = skill_server(manifest, texts, lifespan, media_url)
    register(mcp, manifest, texts, running)
    return mcp


async def _tidy(store: StateStore, jobs: JobManager, client: BackendClient) -> None:
    """Expire old records and take over work a previous process left, after start-up."""
    try:
        removed = await store.prune(Retention())
        if removed.total:
            log.info("removed %d stale records", removed.total)
        await jobs.recover(client.scope)
    except Exception:
        log.exception("recovering earlier work failed")
