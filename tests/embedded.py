"""The embedded backend (``nemo_local``) for tests: named variants, each started once per run.

Tests take the one fixture ``embedded_backend`` (tests/conftest.py): the variant its folder's
conftest names through ``embedded_variant``, with every fault switch off and the counters at
zero once no request of an earlier test is still open (a stream whose server was stopped ends at
the backend's next heartbeat, and would otherwise be counted in the next test). Add a variant
here only when a test needs a different *configuration*; a test that needs a fault turns a switch
on ``embedded_backend.faults`` (reset before the next test).
"""

from __future__ import annotations

import time
from pathlib import Path

from nemo_local import LocalBackendConfig, RunningBackend, start_in_thread

STDIO_CANVAS = (180, 320)
RELIABILITY_CANVAS = (90, 160)
INTEGRATION_CANVAS = (270, 480)

QUICK: dict[str, object] = {"work_seconds": 0.4, "heartbeat_interval": 0.05, "seed": 3}
"""Short timings; also for backends a test starts itself (``fast_config``, tests/nemo_local)."""

VARIANTS: dict[str, dict[str, object]] = {
    # nemo_local's own tests, and the default: short timings, many tokens per address.
    "quick": {**QUICK, "tokens_per_address": 100_000},
    # The real server over stdio (tests/e2e): work outlasts a 0.5 s tool wait, 180x320 renders.
    "stdio": {"canvas": STDIO_CANVAS, "seed": 7, "work_seconds": 1.0, "heartbeat_interval": 0.2,
              "starting_credits": 10_000, "tokens_per_address": 1000},
    # tests/reliability: tiny renders, a 5 MB upload limit (files over it are a fault cell).
    "reliability": {"canvas": RELIABILITY_CANVAS, "seed": 3, "work_seconds": 0.2,
                    "heartbeat_interval": 0.1, "starting_credits": 1_000_000,
                    "tokens_per_address": 100_000, "max_upload_mb": 5},
    # tests/integration: the client alone on a backend, at the phone canvas the MP4s are read at.
    "integration": {"canvas": INTEGRATION_CANVAS, "seed": 1, "work_seconds": 0.5,
                    "heartbeat_interval": 0.1, "starting_credits": 5000,
                    "tokens_per_address": 1000, "max_upload_mb": 5},
}  # fmt: skip


SETTLE_S = 10.0
"""The longest a test waits for the earlier tests' requests to end before its counters start."""


class EmbeddedBackends:
    """Backends by variant name, started on first use in their own thread, stopped at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: dict[str, RunningBackend] = {}

    def get(self, variant: str) -> RunningBackend:
        if variant not in VARIANTS:
            raise KeyError(f"no embedded backend variant {variant!r}; known: {sorted(VARIANTS)}")
        if variant not in self.running:
            config = LocalBackendConfig(data_dir=self.root / variant, **VARIANTS[variant])  # type: ignore[arg-type]
            self.running[variant] = start_in_thread(config)
        backend = self.running[variant]
        backend.faults.all_off()
        deadline = time.monotonic() + SETTLE_S
        while backend.stats.snapshot()["open"] and time.monotonic() < deadline:
            time.sleep(0.02)
        backend.stats.reset()
        return backend

    def stop(self) -> None:
        for backend in self.running.values():
            backend.stop()
        self.running.clear()
