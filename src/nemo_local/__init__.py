"""The embedded local backend: the NemoVideo HTTP contract on loopback, with real MP4 rendering.

Start it in the current event loop (``async with LocalBackend(config) as backend``), in a thread
of its own (``start_in_thread(config)``), or in the foreground (``serve_forever(config)``, also
``python -m nemo_local --port N --data-dir DIR``).

Where the decisions are written down:

- ``errors``: the envelope, every error code and its HTTP status.
- ``api`` / ``messages``: the contract's calls; ``/run_sse`` refusals come before the stream.
- ``agent`` (reads a message) and ``edits`` (changes the draft): the agent's rules and costs.
- ``turns``: the order of a turn's events, heartbeats, silence, the edit landing before the text.
- ``uploads`` / ``filetypes``: streaming to disk, accepted types, URL mode (loopback only).
- ``renders``: render jobs, idempotent ids, one export per session.
- ``faults`` / ``stats`` / ``app``: fault switches, counters and the ``/_local/...`` admin routes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nemo_local.config import LocalBackendConfig
    from nemo_local.faults import Faults
    from nemo_local.runner import LocalBackend, RunningBackend, serve_forever, start_in_thread
    from nemo_local.stats import Stats

__all__ = [
    "Faults",
    "LocalBackend",
    "LocalBackendConfig",
    "RunningBackend",
    "Stats",
    "serve_forever",
    "start_in_thread",
]
_HOMES = {
    "Faults": "faults",
    "LocalBackend": "runner",
    "LocalBackendConfig": "config",
    "RunningBackend": "runner",
    "Stats": "stats",
    "serve_forever": "runner",
    "start_in_thread": "runner",
}


def __getattr__(name: str) -> Any:
    """The package's names load with the module that has them: ``serve --local`` imports
    ``nemo_local.persist`` and ``nemo_local.claim`` (the standard library only) before it answers
    ``initialize``, and the server (uvicorn, the app) in the background after."""
    if name in _HOMES:
        return getattr(importlib.import_module(f"nemo_local.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'nemo_local' has no attribute {name!r}")
