"""Starting the embedded local backend for ``serve --local``: the one place the MCP server
imports the backend package, lazily, so nothing of it loads unless asked for.

The backend keeps its state in ``<config>/local-backend`` (``nemo_local.persist``), so a restart,
on whatever port, continues the same project. Its credits (``OFFLINE_CREDITS``) count the work
and are topped back up when they run short: offline work is never refused for credits. When a
second ``serve --local`` starts on the same config folder (two assistants), it uses the first
one's backend instead of starting another on the same data. ``initialize`` never waits for the
backend: it starts in the background and the first tool call waits for it (``embedded_backend``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import anyio

from nemo_mcp.errors import BackendUnreachable, ConfigError
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


LOCAL_MODULES = ("uvicorn", "starlette", "python_multipart", "PIL", "imageio_ffmpeg")
"""What the ``local`` extra installs and the backend imports (found, not imported: cheap)."""


def check_local_extra() -> None:
    """``ConfigError`` naming the fix when the ``local`` extra is missing: checked before the
    server starts, since the backend itself is only imported once ``initialize`` is answered."""
    from importlib.util import find_spec

    from nemo_media.ffmpeg import INSTALL_ADVICE

    missing = [name for name in LOCAL_MODULES if find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"--local needs the local extra ({', '.join(missing)} missing): {INSTALL_ADVICE}"
        )


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
    """Run the embedded backend on a free loopback port; yields the settings that point at it.

    It yields at once: the data folder and a socket are claimed here (the standard library only),
    so the URL is known and connectable, and the backend is imported and started in the
    background. A request that comes first waits in the socket's backlog; if the backend cannot
    start, the socket is closed and requests fail as "unreachable" (the log says why)."""
    from nemo_local.claim import listening_socket, url_of
    from nemo_local.config import DEFAULT_HOST
    from nemo_local.persist import URL_FILE, FolderBusy, owned

    with contextlib.ExitStack() as claimed:
        try:
            claimed.enter_context(owned(data_dir))
        except FolderBusy:
            url = await _shared_url(data_dir / URL_FILE)
            log.info("another serve --local runs the local backend at %s; sharing it", url)
            yield _pointing_at(settings, url)
            return
        sock = claimed.enter_context(listening_socket(DEFAULT_HOST, 0))
        stop = anyio.Event()
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(_serve, settings, data_dir, sock, stop)
            try:
                yield _pointing_at(settings, url_of(sock))
            finally:
                stop.set()


def _import_runner() -> ModuleType:
    """The backend's server module (uvicorn, the app, the renderer: the slow import)."""
    return importlib.import_module("nemo_local.runner")


async def _serve(
    settings: Settings, data_dir: Path, sock: socket.socket, stop: anyio.Event
) -> None:
    """Import and start the backend on the claimed socket, and run it until ``stop``."""
    try:
        # In a thread: the import takes a while, and the event loop is answering meanwhile.
        runner = await anyio.to_thread.run_sync(_import_runner)
        from nemo_local.config import OFFLINE_CREDITS, LocalBackendConfig

        config = LocalBackendConfig(
            data_dir=data_dir,
            keep_state=True,
            starting_credits=OFFLINE_CREDITS,
            refill_credits=True,
            tokens_per_address=OFFLINE_TOKENS,
        )
        if settings.local_canvas:
            config = replace(config, canvas=settings.local_canvas)
        backend = runner.LocalBackend(config, listening=sock, folder_owned=True)
        async with backend:
            log.info("embedded local backend at %s", backend.url)
            await stop.wait()
    except Exception:
        log.exception("the embedded local backend could not start")
        sock.close()  # requests waiting for it fail now instead of at their deadline
