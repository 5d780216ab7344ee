"""The server's state, built once by the lifespan and handed to every tool call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from mcp.server.mcpserver import Context

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, StateStore


@dataclass
class App:
    """One skill's server: its settings, the store, the backend client and the jobs."""

    settings: Settings
    manifest: Manifest
    store: StateStore
    client: BackendClient
    jobs: JobManager

    @property
    def scope(self) -> Scope:
        return self.client.scope


def app_of(ctx: Context) -> App:
    return cast(App, ctx.request_context.lifespan_context)
