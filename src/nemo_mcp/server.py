"""The MCP server for one skill or for every skill: a lifespan that owns the shared parts, and
the registry.

The lifespan builds, once per process: the store (``state.db`` in the config folder), the task
group where long work runs (jobs outlive the tool calls that ask for them), the job manager and,
for each skill served, its runtime (its backend client: headers, session and limits from its
manifest); with ``--local`` it first starts the embedded backend on loopback. A server of one
skill has that skill's ``Runtime`` as its state; a server of several, a ``SkillSet`` that picks
one per call (``tools.skills``). Jobs a previous process left behind are recovered in the
background, so start-up stays fast.
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
from nemo_mcp.deployment import Deployment
from nemo_mcp.flows.kinds import SPECS, Work
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Retention, SQLiteStore, StateStore
from nemo_mcp.store.lease import process_holder
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.edge import Edge
from nemo_mcp.tools.listing import CompactListing
from nemo_mcp.tools.registry import player, register, server_title
from nemo_mcp.tools.runtime import Runtime, build_runtime
from nemo_mcp.tools.skills import SkillSet, SkillWork
from nemo_mcp.uploads import heic_available
from nemo_mcp.words import user_message

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

TIDY_TASK = "nemo-mcp: tidy after start-up"
"""The name of the task that expires old records and recovers earlier work (``_tidy``)."""


class Running:
    """The lifespan's state while the server runs, for handlers that get no context: the
    ``Runtime`` of the skill in use."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.skills: SkillSet | None = None

    def __call__(self) -> Runtime:
        if self.skills is not None:
            return self.skills.in_use()
        if self.runtime is None:
            raise LookupError("the server is not running")
        return self.runtime


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
        middleware=[Edge(), CompactListing()],
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
) -> MCPServer[Runtime]:
    """The server for one skill, or for several (a mapping of them). ``local_data_dir`` starts
    the embedded backend in-process; ``transport`` and ``store`` are for tests (a mock backend,
    an in-memory store)."""
    skills = served(manifests)
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
            runtimes: dict[str, Runtime] = {}

            def manager(work: Work | SkillWork) -> JobManager:
                # Every job of this server is its one user's: the manager runs their work (of
                # the job's skill, on a server of every skill).
                return JobManager(
                    state, task_group, work, user_message, kinds=SPECS, holder=process_holder()
                )

            shared = manager(SkillWork(runtimes)) if len(skills) > 1 else manager
            deployment = Deployment.of(active, embedded=embedded)
            for name, manifest in skills.items():
                runtime = build_runtime(
                    active, manifest, state, shared, deployment, transport=transport
                )
                stack.push_async_callback(runtime.client.aclose)
                runtimes[name] = runtime
                task_group.start_soon(_tidy, state, runtime.jobs, runtime.client, name=TIDY_TASK)
            if len(runtimes) == 1:
                running.runtime = next(iter(runtimes.values()))
            else:
                running.skills = SkillSet(runtimes)
            try:
                yield running.runtime or running.skills  # type: ignore[misc]
            finally:
                running.runtime = running.skills = None

    texts = ToolTexts.for_manifests(
        skills, settings, Deployment.of(settings, embedded=embedded), heic=heic_available()
    )

    def media_url() -> str | None:
        """Where the player may load videos from: the backend (offline, once it runs)."""
        if running.runtime is not None or running.skills is not None:
            return running().settings.api_url
        return None if embedded else settings.api_url

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
