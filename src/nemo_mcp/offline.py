"""Starting the embedded local backend for ``serve --local``: the one place the MCP server
imports the backend package, lazily, so nothing of it loads unless asked for."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from nemo_mcp.settings import Settings

log = logging.getLogger(__name__)

LOCAL_POLL_INTERVAL = 1.0
LOCAL_DATA = "local-backend"


def local_data_dir(settings: Settings) -> Path:
    """Where ``serve --local`` keeps the embedded backend's data: inside the config folder."""
    return settings.config_dir / LOCAL_DATA


@asynccontextmanager
async def embedded_backend(settings: Settings, data_dir: Path) -> AsyncIterator[Settings]:
    """Run the embedded backend on a free loopback port; yields the settings that point at it."""
    from nemo_local import LocalBackend, LocalBackendConfig

    config = LocalBackendConfig(data_dir=data_dir)
    if settings.local_canvas:
        config = replace(config, canvas=settings.local_canvas)
    async with LocalBackend(config) as backend:
        log.info("embedded local backend at %s", backend.url)
        yield replace(
            settings,
            api_url=backend.url,
            local=True,
            poll_interval=min(settings.poll_interval, LOCAL_POLL_INTERVAL),
        )
