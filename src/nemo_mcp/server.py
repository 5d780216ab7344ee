"""The MCP server for one skill or for every skill: a lifespan that owns the shared parts, and
the registry.

The lifespan builds, once per process: the store (``state.db`` in the config folder), the task
group where long work runs (jobs outlive the tool calls that ask for them) and, for each skill
served, its backend client (its headers, session and limits) and job manager; with ``--local``
it first starts the embedded backend on loopback. A server of one skill has that skill's
``App`` as its state; a server of several, a ``SkillSet`` that picks one per call
(``tools.skills``). Jobs a previous process left behind are recovered in the background, so
start-up stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer

from nemo_mcp import __version__
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.flows.work import Work
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Retention, SQLiteStore, StateStore
from nemo_mcp.store.lease import process_holder
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.app import App
from nemo_mcp.tools.edge import Edge
from nemo_mcp.tools.registry import player, register, server_title
from nemo_mcp.tools.skills import SkillSet
from nemo_mcp.uploads import heic_available
from nemo_mcp.words import user_message

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class Running:
    """The lifespan's state while the server runs, for handlers that get no context: the ``App``
    of the skill in use."""

    def __init__(self) -> None:
        self.app: App | None = None
        self.skills: SkillSet | None = None

    def __call__(self) -> App:
        if self.skills is not None:
            return self.skills.apps[self.skills.current or next(iter(self.skills.apps))]
        if self.app is None:
            raise LookupError("the server is not running")
        return self.app


T = TypeVar("T")


def skill_server(
    manifests: Mapping[str, Manifest],
    texts: ToolTexts,
    lifespan: Callable[[MCPServer[T]], AbstractAsyncContextManager[T]],
    media_url: Callable[[], str | None],
) -> MCPServer[T]:
    """The MCPServer every transport serves (stdio here, HTTP in ``remote``): the skills' words,
    the player App, and the edge every answer passes on its way out."""
    return MCPServer(
        name="nemo-mcp",
        title=server_title(manifests),
        version=__version__,
        instructions=texts.instructions,
        lifespan=lifespan,
        extensions=[player(manifests, texts, media_url)],
        middleware=[Edge()],
    )


def served(manifests: Manifest | Mapping[str, Manifest]) -> dict[str, Manifest]:
    """The skills a server serves, by name."""
    if isinstance(manifests, Manifest):
        return {manifests.name: manifests}
    return dict(manifests)


def create_server(
    manifests: Manifest | Mapping[str, Manifest],
    settings: Settings,
    *,
    local_data_dir: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: StateStore | None = None,
) -> MCPServer[App]:
    """The server for one skill, or for several (a mapping of them). ``local_data_dir`` starts
    the embedded backend in-process; ``transport`` and ``store`` are for tests (a mock backend,
    an in-memory store)."""
    skills = served(manifests)
    running = Running()

    @asynccontextmanager
    async def lifespan(server: MCPServer[App]) -> AsyncIterator[App]:
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
            clients = [
                await stack.enter_async_context(
                    BackendClient(active, manifest, state, transport=transport)
                )
                for manifest in skills.values()
            ]
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)
            holder = process_holder()
            apps: dict[str, App] = {}
            for client in clients:
                work = Work(client, state, active, client.manifest)
                jobs = JobManager(state, task_group, work, user_message, holder=holder)
                work.jobs = jobs
                task_group.start_soon(_tidy, state, jobs, client)
                apps[client.manifest.name] = App(active, client.manifest, state, client, jobs)
            if len(apps) == 1:
                running.app = next(iter(apps.values()))
            else:
                running.skills = SkillSet(apps)
            try:
                yield running.app or running.skills  # type: ignore[misc]
            finally:
                running.app = running.skills = None

    texts = ToolTexts.for_manifests(
        skills, settings, offline=local_data_dir is not None, heic=heic_available()
    )

    def media_url() -> str | None:
        """Where the player may load videos from: the backend (offline, once it runs)."""
        if running.app is not None or running.skills is not None:
            return running().settings.api_url
        return None if local_data_dir is not None else settings.api_url

    mcp = skill_server(skills, texts, lifespan, media_url)
    register(mcp, skills, texts, running)
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
