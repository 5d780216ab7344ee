"""Ctrl-C stops ``nemo-mcp serve`` in a terminal: promptly, exit 130, no traceback.

stdin is a pseudo-terminal, as when a person runs the server by hand, and the signal goes to the
whole process group, as the terminal sends it. Before the first message, while serving, and
during start-up itself.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from nemo_mcp.serve import STOP_GRACE_S

INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "terminal", "version": "0"}},
}  # fmt: skip


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "NEMO_CONFIG_DIR": str(tmp_path / "config"), "NEMO_API_URL": "http://127.0.0.1:9",
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp", "serve", "--skill", "picture-to-video-ai"],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    return proc, master


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the server did not answer"
    return proc.stdout.readline()


@pytest.mark.parametrize("when", ["starting", "serving"])
def test_ctrl_c_stops_the_server_in_a_terminal(
    tmp_path: Path, when: str, figures: Counter[str]
) -> None:
    proc, master = _serve(tmp_path)
    try:
        if when == "serving":
            os.write(master, json.dumps(INITIALIZE).encode() + b"\n")
            assert b'"result"' in _read_line(proc, 30)
        else:
            time.sleep(0.3)
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=STOP_GRACE_S + 8)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    # 130 from our handler; -SIGINT when the signal beat Python's own start-up (the shell shows
    # that as 130 too): either way the process stopped at once.
    assert proc.returncode in (0, 130, -signal.SIGINT), err.decode()
    assert took < STOP_GRACE_S + 3, f"stopped after {took:.1f} s"
    assert b"Traceback" not in err, err.decode()
    figures["Ctrl-C stops"] += 1
