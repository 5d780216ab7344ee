"""What the reliability tests tried, counted across the whole run, also when it is spread over
pytest-xdist workers: each worker sends its counters home in ``workeroutput`` and the controller
adds them up (the hooks are in tests/conftest.py, the only conftest the controller loads)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

FIGURES: Counter[str] = Counter()
KEY = "reliability_figures"


def totals(figures: Counter[str]) -> dict[str, int]:
    """The headline figures of docs/RELIABILITY.md, each a sum of named counters."""

    def total(*prefixes: str) -> int:
        return sum(n for name, n in figures.items() if name.startswith(prefixes))

    return {
        "TOTAL faults injected and survived": total("fault cells", "faults injected ("),
        "TOTAL bad inputs tried": total("bad inputs tried ("),
        "TOTAL files and links refused alone": total("bad paths and links refused alone"),
        "TOTAL parallel calls held": total("parallel calls held"),
    }


def report() -> dict[str, int]:
    return dict(sorted(FIGURES.items())) | totals(FIGURES)


def finish(config: pytest.Config) -> None:
    """On a worker: send the counters home. Alone or on the controller: keep them in the cache."""
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[KEY] = dict(FIGURES)
        return
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if FIGURES and cache is not None:
        cache.set("reliability/figures", report())


def add_from_worker(workeroutput: dict[str, Any]) -> None:
    FIGURES.update(workeroutput.get(KEY, {}))


def summary_line() -> str | None:
    return f"reliability figures: {json.dumps(report())}" if FIGURES else None
