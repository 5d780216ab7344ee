"""Running the server over stdio until the client hangs up, or Ctrl-C / SIGTERM stops it.

stdin is read in a worker thread that Python cannot interrupt, so a signal in a terminal would
otherwise leave the process waiting for one more line. On SIGINT or SIGTERM the server's work is
cancelled (jobs stay on record; the next start adopts them), the lifespan closes the store and
the client, and the process then exits without waiting for that thread.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import anyio

from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings

log = logging.getLogger(__name__)

SIGNAL_EXIT = 130


def serve_stdio(manifest: Manifest, settings: Settings, *, local: bool) -> int:
    """Serve ``manifest``'s skill on stdin/stdout; the exit status."""
    from nemo_mcp.offline import local_data_dir
    from nemo_mcp.server import create_server

    server = create_server(
        manifest, settings, local_data_dir=local_data_dir(settings) if local else None
    )
    stopped_by: list[int] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        log.info("stopping on %s", signal.Signals(signum).name)
                        stopped_by.append(signum)
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_signals)
            await server.run_stdio_async()
            tg.cancel_scope.cancel()

    anyio.run(main)
    if stopped_by:
        logging.shutdown()
        sys.stderr.flush()
        os._exit(SIGNAL_EXIT)
    return 0
