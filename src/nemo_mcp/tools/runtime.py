"""The running server's parts one user's tool call works with, built in one place.

A stdio server has one ``Runtime`` for its life; a shared HTTP server has one per user
(``nemo_mcp.remote.users``). Either way the lifespan's state answers ``runtime_for(ctx)``, so a
tool finds its runtime the same way on both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, cast

from mcp.server.mcpserver import Context

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.deployment import Deployment
from nemo_mcp.flows.work import Work
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

    @property
    def scope(self) -> Scope:
        return self.client.scope

    @functools.cached_property
    def work(self) -> Work:
        """What runs this user's jobs (the manager calls it from the job's record)."""
        return Work(self.client, self.store, self.settings, self.manifest)

    def runtime_for(self, ctx: Context) -> Runtime:
        """A stdio server's lifespan state is its one runtime."""
        return self


def build_runtime(
    settings: Settings,
    manifest: Manifest,
    store: StateStore,
    jobs: JobManager,
    deployment: Deployment,
    *,
    user: str = "",
    token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    """The one place a runtime is made: the settings its deployment implies (a shared server's
    user saves and reads in their own folders), the client. The caller closes the client."""
    if (folders := deployment.folders) is not None:
        settings = replace(settings, output_dir=folders.exports, media_roots=(folders.uploads,))
    client = BackendClient(
        settings, manifest, store, deployment=deployment, user=user, token=token,
        transport=transport,
    )  # fmt: skip
    return Runtime(settings, manifest, deployment, store, client, jobs)


class RuntimeSource(Protocol):
    """A lifespan state: the runtime of the user a request comes from."""

    def runtime_for(self, ctx: Context) -> Runtime: ...


def runtime_of(ctx: Context) -> Runtime:
    return cast(RuntimeSource, ctx.request_context.lifespan_context).runtime_for(ctx)
