"""CPU time of a piece of work on a small and a large input, for tests that guard growth as a
ratio (never as an absolute time: the machine may be shared)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_cpu_times(
    work: Callable[[T], object], small: T, large: T, runs: int
) -> tuple[float, float]:
    """The best CPU time of ``work`` on each input over ``runs`` alternating runs, so a burst of
    load hits both alike; the cyclic collector is off so its thresholds do not count as the
    work's cost."""
    best_small = best_large = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            started = time.process_time()
            work(small)
            best_small = min(best_small, time.process_time() - started)
            started = time.process_time()
            work(large)
            best_large = min(best_large, time.process_time() - started)
    finally:
        gc.enable()
    return best_small, best_large
