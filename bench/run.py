"""Every measure of issue 10 against its baseline, in one run: ``.venv/bin/python bench/run.py``.

Each measure alternates ours and its baseline (so a burst of load on a shared machine hits both
alike), several times; the table holds medians and ratios, printed as markdown and written as
JSON to ``bench/results/latest.json``. ``--quick`` is a smoke run of the same code, not a
measurement (the test suite uses it so this script cannot rot): tiny sizes once, a 180x320
canvas, no start-up warm-up, both start-up rows from one spawn of each server; the full run
takes a few minutes on an idle 2-core machine.
Baselines: ``bare_server.py`` (a bare ``MCPServer``, one tool), httpx-sse + ``json.loads``
(``pip install -e '.[bench]'``), the same keep-alive request with Nagle on, one plain FFmpeg
scale+concat of the same stills, ``curl -F``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import io_measures, render, startup  # noqa: E402

RESULTS = Path(__file__).with_name("results") / "latest.json"


@dataclass
class Row:
    measure: str
    ours: float
    baseline: float | None
    unit: str
    baseline_name: str
    target: str
    higher_is_better: bool = False
    runs: int = 0
    best_ratio: float | None = None
    """Of the least disturbed runs (fastest of each): steadier than medians when the machine
    is shared; given where it means something (times)."""

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.ours / self.baseline


Samples = list[dict[str, float]]


def alternate_samples(
    runs: int, ours: Callable[[], dict[str, float]], base: Callable[[], dict[str, float]]
) -> tuple[Samples, Samples]:
    """``runs`` alternating samples of each (ours first, then the baseline)."""
    mine: Samples = []
    theirs: Samples = []
    for _ in range(runs):
        mine.append(ours())
        theirs.append(base())
    return mine, theirs


def alternate(
    runs: int, ours: Callable[[], dict[str, float]], base: Callable[[], dict[str, float]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Medians of each key over ``runs`` alternating samples."""
    mine, theirs = alternate_samples(runs, ours, base)
    return _medians(mine), _medians(theirs)


def _medians(samples: Samples) -> dict[str, float]:
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def _best_ratio(mine: Samples, theirs: Samples, key: str) -> float:
    return min(s[key] for s in mine) / min(s[key] for s in theirs)


def measure_startup(runs: int, *, quick: bool = False) -> list[Row]:
    """Spawns of ours and the bare server; ``quick``: one of each, no warm-up, both rows from it
    (``serve --local``), a smoke run of the same client code rather than a measurement."""
    if quick:
        mine, theirs = alternate_samples(
            runs, lambda: startup.one_spawn(True), lambda: startup.one_spawn(False)
        )
        local_mine = [{"ms": s["first_call_ms"]} for s in mine]
        local_theirs = [{"ms": s["first_call_ms"]} for s in theirs]
    else:
        for warm in (True, False):  # byte-compile and fill the OS's file cache, untimed
            startup.initialize(warm)
            startup.first_local_call(warm)
        mine, theirs = alternate_samples(
            runs, lambda: startup.initialize(True), lambda: startup.initialize(False)
        )
        local_mine, local_theirs = alternate_samples(
            runs,
            lambda: {"ms": startup.first_local_call(True)},
            lambda: {"ms": startup.first_local_call(False)},
        )
    ours, bare = _medians(mine), _medians(theirs)
    local, ping = _medians(local_mine), _medians(local_theirs)
    base = "bare MCPServer, one tool"
    spawned = " (serve --local)" if quick else ""
    return [
        Row(f"spawn -> initialize answer{spawned}", ours["initialize_ms"], bare["initialize_ms"],
            "ms", base, "<= x1.15", runs=runs,
            best_ratio=_best_ratio(mine, theirs, "initialize_ms")),
        Row("serve --local: spawn -> first check_credits", local["ms"], ping["ms"], "ms",
            "bare server ping", "<= x1.20", runs=runs,
            best_ratio=_best_ratio(local_mine, local_theirs, "ms")),
        Row(f"idle memory after initialize{spawned}", ours["rss_mib"], bare["rss_mib"], "MiB", base,
            "<= x1.15", runs=runs),
        Row(f"tools/list answer{spawned}", ours["tools_chars"], None, "chars", "-", "<= 6,000",
            runs=runs),
    ]  # fmt: skip


def measure_sse(runs: int, events: int) -> list[Row]:
    parts = io_measures.sse_parts(events)
    mine, theirs = alternate_samples(
        runs, lambda: io_measures.sse_ours(parts), lambda: io_measures.sse_baseline(parts)
    )
    ours, base = _medians(mine), _medians(theirs)
    grown = io_measures.sse_ours(parts, traced=True)["growth_mib"]
    grown_base = io_measures.sse_baseline(parts, traced=True)["growth_mib"]
    half = io_measures.sse_parts(events // 2)
    linear = io_measures.sse_linearity(half, parts, runs)
    name = "httpx-sse + json.loads"
    return [
        Row(f"SSE reader, ADK partial events ({events:,})", events / ours["seconds"],
            events / base["seconds"], "events/s", name, ">= 200k events/s",
            higher_is_better=True, runs=runs,
            best_ratio=1 / _best_ratio(mine, theirs, "seconds")),
        Row(f"SSE reader, memory growth ({events:,} events)", grown, grown_base, "MiB", name,
            "< 10 MiB", runs=1),
        Row("SSE reader, 2N events / N events (time)", linear, 2.0, "x", "linear: x2",
            "< x2.5", runs=runs),
    ]  # fmt: skip


def measure_keep_alive(runs: int, requests: int) -> list[Row]:
    def sample(nodelay: bool) -> dict[str, float]:
        with io_measures.local_backend(nodelay) as url:
            return {"ms": io_measures.keep_alive_ms(url, requests)}

    mine, theirs = alternate_samples(runs, lambda: sample(True), lambda: sample(False))
    ours, base = _medians(mine), _medians(theirs)
    return [
        Row("local backend, one keep-alive request", ours["ms"], base["ms"], "ms",
            "same request, Nagle on (the old socket)", "< 2 ms", runs=runs,
            best_ratio=_best_ratio(mine, theirs, "ms")),
    ]  # fmt: skip


def measure_render(
    runs: int, photos: int, seconds: int, work: Path, *, small: bool = False
) -> tuple[list[Row], dict[str, float]]:
    """The render rows of one job, ours against the plain scale+concat, and our medians."""
    render.make_job(work, photos, seconds, small=small)
    mine, theirs = alternate_samples(
        runs, lambda: render.sample("ours", work), lambda: render.sample("plain", work)
    )
    ours, base = _medians(mine), _medians(theirs)
    name = "plain FFmpeg scale+concat"
    width, height = render.canvas_of(work)
    job = f"{photos} photos, {seconds} s, {width}x{height}, music, title"
    cpu, cpu_base = ours["ffmpeg_cpu_s"] + ours["own_cpu_s"], base["ffmpeg_cpu_s"]
    rows = [
        Row(
            f"local render ({job}): x real time",
            seconds / ours["seconds"],
            seconds / base["seconds"],
            "x",
            name,
            ">= x3 real time",
            higher_is_better=True,
            runs=runs,
            best_ratio=1 / _best_ratio(mine, theirs, "seconds"),
        ),
        Row(
            f"local render, {seconds} s: CPU seconds (FFmpeg + the renderer's own)",
            cpu,
            cpu_base,
            "s",
            name,
            f"<= {seconds * 2 / 3:.0f} s (x3 on 2 idle cores)",
            runs=runs,
        ),
        Row(
            f"local render, {seconds} s: FFmpeg peak memory (its largest process)",
            ours["peak_mib"],
            base["peak_mib"],
            "MiB",
            name,
            "< 400 MiB",
            runs=runs,
        ),
        Row(
            f"local render, {seconds} s: the rendering process's own growth",
            ours["own_growth_mib"],
            base["own_growth_mib"],
            "MiB",
            name,
            "flat",
            runs=runs,
        ),
    ]
    return rows, {"cpu": cpu, **ours}


def measure_renders(runs: int, work: Path, *, quick: bool) -> list[Row]:
    """The issue's 30 s job, then twice as long: time should double, memory stay flat."""
    rows, short = measure_render(
        runs, 2 if quick else 10, 1 if quick else 30, work / "30", small=quick
    )
    more, long = measure_render(
        runs, 4 if quick else 20, 2 if quick else 60, work / "60", small=quick
    )
    pictures = [render.sample("picture", work / "30") for _ in range(runs)]
    made = _medians(pictures)
    return [
        *rows, *more,
        Row("draft picture of the 30 s job (get_timeline, offline): seconds", made["seconds"],
            short["seconds"], "s", "the full export", "< 2 s", runs=runs),
        Row("draft picture: size / CPU seconds", made["kib"], made["cpu_s"], "KiB",
            "CPU s", "< 100 KB", runs=runs),
        Row("local render: CPU seconds, 60 s job / 30 s job", long["cpu"] / short["cpu"], 2.0,
            "x", "linear: x2", "~ x2", runs=runs),
        Row("local render: FFmpeg peak, 60 s job / 30 s job", long["peak_mib"] /
            short["peak_mib"], 1.0, "x", "flat: x1", "~ x1", runs=runs),
    ]  # fmt: skip


def measure_upload(runs: int, megabytes: int) -> list[Row]:
    if not io_measures.curl_available():
        return []
    with io_measures.upload_target(megabytes) as target:
        ours, base = alternate(
            runs,
            lambda: io_measures.upload_sample("ours", target),
            lambda: io_measures.upload_sample("curl", target),
        )
    return [
        Row(f"{megabytes} MB upload", ours["mb_s"], base["mb_s"], "MB/s", "curl -F", "kept",
            higher_is_better=True, runs=runs),
        Row("upload: client memory (ours: growth; curl: its whole peak)", ours["growth_mib"],
            base["growth_mib"], "MiB", "curl -F", "flat", runs=runs),
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | nemo-mcp | baseline | ratio | ratio, best runs | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = "-" if r.baseline is None else f"{r.baseline_name}: {_num(r.baseline)} {r.unit}"
        ratio = "-" if r.ratio is None else f"x{r.ratio:.2f}"
        best = "-" if r.best_ratio is None else f"x{r.best_ratio:.2f}"
        lines.append(
            f"| {r.measure} | {_num(r.ours)} {r.unit} | {base} | {ratio} | {best} | {r.target} |"
        )
    return "\n".join(lines)


def _num(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes once")
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per measure")
    parser.add_argument("--render-runs", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=None,
        help="where the JSON goes (default: bench/results/latest.json; --quick writes none unless"
        " given one, so a smoke run never replaces the measured results)",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="*", default=None, help="startup sse keepalive render upload"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    runs = 1 if quick else args.runs
    only = set(args.only or ["startup", "sse", "keepalive", "render", "upload"])
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        steps: list[tuple[str, Callable[[], list[Row]]]] = [
            ("startup", lambda: measure_startup(runs, quick=quick)),
            ("sse", lambda: measure_sse(runs, 2_000 if quick else 100_000)),
            ("keepalive", lambda: measure_keep_alive(runs, 3 if quick else 20)),
            ("render", lambda: measure_renders(
                1 if quick else args.render_runs, Path(tmp) / "render", quick=quick)),
            ("upload", lambda: measure_upload(runs, 5 if quick else 500)),
        ]  # fmt: skip
        for name, step in steps:
            if name in only:
                print(f"measuring {name}...", file=sys.stderr, flush=True)
                rows += step()
    took = time.perf_counter() - started
    print(table(rows))
    print(f"\n{len(rows)} rows in {took:.0f} s on {os.cpu_count()} cores ({platform.platform()})")
    out = args.out or (None if quick else RESULTS)
    if out is None:
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "quick": quick,
        "seconds": round(took, 1),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()),
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
