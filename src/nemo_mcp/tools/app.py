"""The server's state, built once by the lifespan and handed to every tool call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from mcp.server.mcpserver import Context

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.jobs import JobManager
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, StateStore


@dataclass(frozen=True)
class Remote:
    """On a shared server: this user's folders there, and the link a saved file is fetched by."""

    uploads: Path
    exports: Path
    link: Callable[[str], str]
    """A file name in ``exports`` -> the address its owner downloads it from."""


@dataclass
class App:
    """One skill's server: its settings, the store, the backend client and the jobs."""

    settings: Settings
    manifest: Manifest
    store: StateStore
    client: BackendClient
    jobs: JobManager
    remote: Remote | None = None
    """Set when serving many users over HTTP (``nemo_mcp.remote``)."""

    @property
    def scope(self) -> Scope:
        return self.client.scope


class AppSource(Protocol):
    """A shared server's lifespan state: the ``App`` of the user a request comes from."""

    def app_for(self, ctx: Context) -> App: ...


def app_of(ctx: Context) -> App:
    context = ctx.request_context.lifespan_context
    if isinstance(context, App):
        return context
    return cast(AppSource, context).app_for(ctx)
