"""``nemo-mcp doctor --local`` checks the offline set-up; without ``--skill`` it checks them all."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nemo_local import LocalBackendConfig, start_in_thread
from tests.test_cli_commands import run

pytestmark = pytest.mark.real  # runs doctor in subprocesses, a backend on a port


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"NEMO_CONFIG_DIR": str(tmp_path / "c"), "NEMO_OUTPUT_DIR": str(tmp_path / "o"),
            "HOME": str(tmp_path), "PATH": "", **more}  # fmt: skip


def test_doctor_local_needs_no_network_and_no_token(tmp_path: Path) -> None:
    with socket.socket() as s:  # a cloud URL that answers nothing: offline must not care
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    done = run("doctor", "--local", env=_env(tmp_path, NEMO_API_URL=f"http://127.0.0.1:{closed}"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offline folder" in done.stdout and "0 project(s) kept" in done.stdout
    assert "unreachable" not in done.stdout and "token" not in done.stdout
    assert "all good" in done.stdout


def test_doctor_local_sees_a_running_offline_server(tmp_path: Path) -> None:
    data = tmp_path / "c" / "local-backend"
    with start_in_thread(LocalBackendConfig(data_dir=data, keep_state=True)) as backend:
        done = run("doctor", "--local", "--skill", "dreamface-ai", env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"offline backend running ({backend.url})" in done.stdout
    assert "skill dreamface-ai" in done.stdout


def test_doctor_without_a_skill_says_it_checks_every_skill(tmp_path: Path) -> None:
    done = run("doctor", "--local", env=_env(tmp_path))
    assert "checking every skill" in done.stdout
    assert "skill dreamface-ai " not in done.stdout, "no one skill picked silently"


def test_doctor_shows_a_capped_tool_wait_and_refuses_an_endless_one(tmp_path: Path) -> None:
    capped = run("doctor", "--local", env=_env(tmp_path, NEMO_TOOL_WAIT="120"))
    assert "NEMO_TOOL_WAIT=120 is longer than assistants wait" in capped.stdout
    assert capped.returncode == 0, capped.stdout
    endless = run("doctor", "--local", env=_env(tmp_path, NEMO_TOOL_WAIT="inf"))
    assert endless.returncode == 2
    assert "NEMO_TOOL_WAIT must be a finite number of seconds" in endless.stderr
