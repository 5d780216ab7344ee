"""The running server's parts one user's tool call works with, built in one place.

A stdio server has one ``Runtime`` for its life; a shared HTTP server has one per user
(``nemo_mcp.remote.users``). Either way the lifespan's state answers ``runtime_for(ctx)``, so a
tool finds its runtime the same way on both (``tools.edge.runtime_of``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from mcp.server.mcpserver import Context

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.deployment import Deployment
from nemo_mcp.flows.kinds import Work
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, StateStore

if TYPE_CHECKING:
    import httpx


@dataclass
class Runtime:
    """One skill's server for one user: settings, the deployment, the store, the backend
    client and the jobs."""

    settings: Settings
    manifest: Manifest
    deployment: Deployment
    store: StateStore
    client: BackendClient
    jobs: JobManager
    work: Work
    """What runs this user's jobs from their records."""
    scope: Scope

    def runtime_for(self, ctx: Context) -> Runtime:
        """A stdio server's lifespan state is its one runtime."""
        return self


def build_runtime(
    settings: Settings,
    manifest: Manifest,
    store: StateStore,
    jobs: JobManager | Callable[[Work], JobManager],
    deployment: Deployment,
    *,
    user: str = "",
    token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    """The one place a runtime is made: the settings its deployment implies (a shared server's
    user saves and reads in their own folders), the client, the work. ``jobs`` is the shared
    manager, or (one user's server) makes the manager that runs this work. The caller closes
    the client."""
    if (folders := deployment.folders) is not None:
        settings = replace(settings, output_dir=folders.exports, media_roots=(folders.uploads,))
    client = BackendClient(
        settings, manifest, store, deployment=deployment, user=user, token=token,
        transport=transport,
    )  # fmt: skip
    work = Work(client, store, settings, manifest)
    manager = jobs if isinstance(jobs, JobManager) else jobs(work)
    return Runtime(settings, manifest, deployment, store, client, manager, work, client.scope)


class RuntimeSource(Protocol):
    """A lifespan state: the runtime of the user a request comes from."""

    def runtime_for(self, ctx: Context) -> Runtime: ...
