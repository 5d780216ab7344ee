"""``bench/run.py`` in its quick mode: every measure runs end to end, so the script cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_measures_every_row(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| measure | nemo-mcp | baseline | ratio | ratio, best runs | target |" in done.stdout
    report = json.loads(out.read_text())
    names = [row["measure"] for row in report["rows"]]
    for expected in ("initialize", "check_credits", "SSE reader", "keep-alive", "local render"):
        assert any(expected in name for name in names), expected
    for row in report["rows"]:
        assert row["ours"] > 0, row
        if row["baseline"] is not None:
            assert row["ratio"] == pytest.approx(row["ours"] / row["baseline"])
