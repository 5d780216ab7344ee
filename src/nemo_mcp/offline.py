"""Starting the embedded local backend for ``serve --local``: the one place the MCP server
imports the backend package, lazily, so nothing of it loads unless asked for.

The backend keeps its state in ``<config>/local-backend`` (``nemo_local.persist``), so a restart,
on whatever port, continues the same project. Its credits (``OFFLINE_CREDITS``) count the work
and are topped back up when they run short: offline work is never refused for credits. When a
second ``serve --local`` starts on the same config folder (two assistants), it uses the first
one's backend instead of starting another on the same data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import anyio

from nemo_mcp.errors import BackendUnreachable
from nemo_mcp.settings import Settings

log = logging.getLogger(__name__)

LOCAL_POLL_INTERVAL = 1.0
LOCAL_DATA = "local-backend"
SHARED_URL_TRIES = 100
OFFLINE_TOKENS = 1000
"""Anonymous tokens per 7 days: the cloud's limit guards an allowance the offline backend lacks."""
LOCAL_KEEP_DAYS = 30
"""``nemo_local.persist.KEEP_DAYS``, named here so the CLI need not import the backend."""


def local_data_dir(settings: Settings) -> Path:
    """Where ``serve --local`` keeps the embedded backend's data: inside the config folder."""
    return settings.config_dir / LOCAL_DATA


def _pointing_at(settings: Settings, url: str) -> Settings:
    return replace(
        settings,
        api_url=url,
        local=True,
        poll_interval=min(settings.poll_interval, LOCAL_POLL_INTERVAL),
    )


def prune_local(settings: Settings, *, dry_run: bool) -> tuple[int, int, int] | None:
    """The offline folder pruned by its rule (``nemo_local.persist``): (projects, files, bytes),
    or None while a ``serve --local`` runs on it (it prunes itself at its next start)."""
    from nemo_local.persist import FolderBusy, prune_folder

    try:
        found = prune_folder(local_data_dir(settings), dry_run=dry_run)
    except FolderBusy:
        return None
    return found.sessions, found.files, found.bytes


async def _shared_url(url_file: Path) -> str:
    """The URL the owning backend wrote (it may be a moment from writing it)."""
    for _ in range(SHARED_URL_TRIES):
        with contextlib.suppress(OSError):
            if url := url_file.read_text(encoding="utf-8").strip():
                return url
        await anyio.sleep(0.1)
    raise BackendUnreachable(f"no URL in {url_file}", local=True)


@asynccontextmanager
async def embedded_backend(settings: Settings, data_dir: Path) -> AsyncIterator[Settings]:
    """Run the embedded backend on a free loopback port; yields the settings that point at it."""
    from nemo_local import LocalBackend, LocalBackendConfig
    from nemo_local.config import OFFLINE_CREDITS
    from nemo_local.persist import URL_FILE, FolderBusy

    config = LocalBackendConfig(
        data_dir=data_dir,
        keep_state=True,
        starting_credits=OFFLINE_CREDITS,
        refill_credits=True,
        tokens_per_address=OFFLINE_TOKENS,
    )
    if settings.local_canvas:
        config = replace(config, canvas=settings.local_canvas)
    try:
        backend = LocalBackend(config)
        await backend.__aenter__()
    except FolderBusy:
        url = await _shared_url(data_dir / URL_FILE)
        log.info("another serve --local runs the local backend at %s; sharing it", url)
        yield _pointing_at(settings, url)
        return
    try:
        log.info("embedded local backend at %s", backend.url)
        yield _pointing_at(settings, backend.url)
    finally:
        await backend.__aexit__(None, None, None)
