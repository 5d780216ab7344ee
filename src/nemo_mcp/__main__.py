"""``python -m nemo_mcp`` and the ``nemo-mcp`` command: Ctrl-C exits 130 at any point of start-up.

Until ``cli.main`` is inside its own ``except KeyboardInterrupt``, a Ctrl-C would otherwise
land in whatever module is being imported (seen in ``lzma``) and print its traceback. There is
nothing to close yet, so the first thing done is to make a Ctrl-C simply exit; ``cli.main``
hands Ctrl-C back to Python (a ``KeyboardInterrupt``) once it can answer it.
"""

from __future__ import annotations

import os
import signal

SIGNAL_EXIT = 130


def _stop_starting(signum: int, frame: object) -> None:
    os._exit(SIGNAL_EXIT)


def run() -> None:
    signal.signal(signal.SIGINT, _stop_starting)
    from nemo_mcp.cli import main

    raise SystemExit(main(starting=True))


if __name__ == "__main__":
    run()
