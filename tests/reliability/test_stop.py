"""Ctrl-C stops ``nemo-mcp serve`` in a terminal: promptly, exit 130, no traceback.

stdin is a pseudo-terminal, as when a person runs the server by hand, and the signal goes to the
whole process group, as the terminal sends it. Before the first message, while serving, and
during start-up itself: at points of our start-up picked exactly (``-X importtime`` names each
import as it ends), the first of them the first import ``__main__`` makes once its handler is
set. Before that the interpreter is starting (``site``, ``runpy`` finding ``__main__``): that is
Python's, which may print its own traceback, and no code of ours runs yet to answer a signal.
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


STARTING_AFTER = ("argparse", "lzma", "nemo_mcp.settings", "nemo_mcp.server")
"""Imports in start-up order, each the moment a Ctrl-C lands (``argparse``: the first of
``cli``'s, after ``__main__`` set its handler; ``lzma``: where a Ctrl-C once printed a trace)."""


def _serve(tmp_path: Path, *python: str) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "NEMO_CONFIG_DIR": str(tmp_path / "config"), "NEMO_API_URL": "http://127.0.0.1:9",
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, *python, "-m", "nemo_mcp", "serve", "--skill", "picture-to-video-ai"],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    return proc, master


def _imported(proc: subprocess.Popen[bytes], module: str, timeout: float = 30) -> None:
    """Return once ``-X importtime`` says ``module`` was imported (start-up is going on)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        assert line, "the server ended before it imported " + module
        if line.startswith(b"import time:") and line.split(b"|")[-1].strip() == module.encode():
            return
    raise AssertionError(f"{module} was not imported in {timeout} s")


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the server did not answer"
    return proc.stdout.readline()


@pytest.mark.parametrize("when", [*(f"starting-{m}" for m in STARTING_AFTER), "serving"])
def test_ctrl_c_stops_the_server_in_a_terminal(
    tmp_path: Path, when: str, figures: Counter[str]
) -> None:
    starting = when.removeprefix("starting-") if when != "serving" else ""
    proc, master = _serve(tmp_path, *(["-X", "importtime"] if starting else []))
    try:
        if starting:
            _imported(proc, starting)
        else:
            os.write(master, json.dumps(INITIALIZE).encode() + b"\n")
            assert b'"result"' in _read_line(proc, 30)
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=STOP_GRACE_S + 8)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    # 130 from our handlers; 0 when stdin's end was read first (the client hung up).
    assert proc.returncode in (0, 130), err.decode()
    assert took < STOP_GRACE_S + 3, f"stopped after {took:.1f} s"
    assert b"Traceback" not in err, err.decode()
    figures["Ctrl-C stops"] += 1
