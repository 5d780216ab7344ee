"""Running the server over stdio until the client hangs up, or Ctrl-C / SIGTERM stops it.

stdin is read in a worker thread that Python cannot interrupt, so a signal in a terminal would
otherwise leave the process waiting for one more line (anyio cannot abandon that thread, so the
event loop never returns). On SIGINT or SIGTERM the server's work is cancelled (jobs stay on
record; the next start adopts them), the lifespan closes the store and the client, and the
process exits with 130 as soon as the loop returns, or after ``STOP_GRACE_S`` at the latest.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping

import anyio

from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings

log = logging.getLogger(__name__)

SIGNAL_EXIT = 130
STOP_GRACE_S = 2.0
"""How long the cancelled server may take to close its store and client after a signal."""


def _exit(code: int) -> None:
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)


def _stop_now(signum: int, frame: object) -> None:
    log.info("stopping on %s", signal.Signals(signum).name)
    _exit(SIGNAL_EXIT)


def _exit_after(seconds: float) -> None:
    """Exit the process from a watchdog thread unless it exited on its own before."""

    def later() -> None:
        time.sleep(seconds)
        _exit(SIGNAL_EXIT)

    threading.Thread(target=later, name="nemo-mcp-stop", daemon=True).start()


HTTPX_CLI = "httpx._main"
"""httpx's command-line tool: imported with httpx when click, rich and pygments are installed
(~55 ms of CPU, on the first tool call's path), and never run by this server."""


def skip_httpx_cli() -> None:
    """Have ``import httpx`` leave out its command-line tool in this process (a ``None`` entry in
    ``sys.modules`` makes that import fail, which httpx expects and answers with a stub)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault(HTTPX_CLI, None)  # type: ignore[arg-type]


def serve_stdio(manifests: Mapping[str, Manifest], settings: Settings, *, local: bool) -> int:
    """Serve the skills of ``manifests`` (one, or every one) on stdin/stdout; the exit status."""
    skip_httpx_cli()
    # Until the loop watches for signals (and again once it stopped), a signal simply exits:
    # there is nothing to close yet, and a KeyboardInterrupt would wait on the stdin thread.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_now)
    from nemo_mcp.offline import local_data_dir
    from nemo_mcp.server import create_server

    server = create_server(
        manifests, settings, local_data_dir=local_data_dir(settings) if local else None
    )
    stopped_by: list[int] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        log.info("stopping on %s", signal.Signals(signum).name)
                        stopped_by.append(signum)
                        _exit_after(STOP_GRACE_S)
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_signals)
            await server.run_stdio_async()
            tg.cancel_scope.cancel()

    anyio.run(main)
    if stopped_by:
        _exit(SIGNAL_EXIT)
    return 0
