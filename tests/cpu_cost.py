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


def lowest_ratio(
    work: Callable[[T], object], small: T, large: T, *, below: float, runs: int, attempts: int
) -> float:
    """The large input's CPU time over the small one's (best of ``runs`` each), measured up to
    ``attempts`` times: the first ratio under ``below``, else the lowest. Growth that is really
    too fast exceeds it every attempt; a burst of load on a shared machine, not."""
    ratios = []
    for _ in range(attempts):
        best_small, best_large = best_cpu_times(work, small, large, runs)
        ratios.append(best_large / best_small)
        if ratios[-1] < below:
            break
    return min(ratios)
