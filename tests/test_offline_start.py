"""``serve --local`` answers ``initialize`` before the embedded backend is imported and started; the
first tool call waits for it. In memory (the SDK's ``Client(server)``) with the real backend on
loopback, its import held back by a gate the test opens."""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import anyio
import pytest
from mcp import Client

from nemo_mcp import offline
from nemo_mcp.errors import ConfigError
from nemo_mcp.manifests import Manifest
from nemo_mcp.server import create_server
from nemo_mcp.settings import Settings


class Gate:
    """Holds the backend's import (it runs in a worker thread) until opened."""

    def __init__(self, fail: bool = False) -> None:
        self.opened = threading.Event()
        self.asked = threading.Event()
        self.fail = fail

    def __call__(self) -> ModuleType:
        self.asked.set()
        assert self.opened.wait(30), "the test never opened the gate"
        if self.fail:
            raise ImportError("No module named 'uvicorn' (the test's stand-in)")
        return importlib.import_module("nemo_local.runner")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    held = Gate()
    monkeypatch.setattr(offline, "_import_runner", held)
    return held


async def test_initialize_does_not_wait_for_the_backend_and_the_first_call_does(
    gate: Gate, manifest: Manifest, settings: Settings, tmp_path: Path
) -> None:
    server = create_server(manifest, settings, local_data_dir=tmp_path / "local-backend")
    async with Client(server, mode="legacy") as client:  # initialize answered here
        assert not gate.opened.is_set(), "initialize was answered with the backend still held"
        with anyio.fail_after(10):
            await anyio.to_thread.run_sync(gate.asked.wait)  # it is being started meanwhile
        answers: list[object] = []
        async with anyio.create_task_group() as tg:

            async def first_call() -> None:
                answers.append(await client.call_tool("check_credits", {}))

            tg.start_soon(first_call)
            await anyio.sleep(0.5)
            assert answers == [], "the first call waits for the backend"
            gate.opened.set()
    [result] = answers
    assert not result.is_error, result.content  # type: ignore[attr-defined]
    assert result.structured_content["available"] == 10_000  # type: ignore[attr-defined]


async def test_a_backend_that_cannot_start_fails_the_call_at_once_in_plain_words(
    gate: Gate, manifest: Manifest, settings: Settings, tmp_path: Path
) -> None:
    gate.fail = True
    gate.opened.set()
    slow = replace(settings, tool_wait=30.0)
    server = create_server(manifest, slow, local_data_dir=tmp_path / "local-backend")
    async with Client(server, mode="legacy") as client:
        with anyio.fail_after(10):  # not at the 30 s deadline
            result = await client.call_tool("check_credits", {})
    assert result.is_error
    words = " ".join(getattr(c, "text", "") for c in result.content)
    assert "embedded local backend did not answer" in words


def test_a_missing_local_extra_is_named_before_the_server_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offline.check_local_extra()  # installed here
    monkeypatch.setattr(offline, "LOCAL_MODULES", ("uvicorn", "no_such_module_for_the_test"))
    with pytest.raises(ConfigError, match=r"no_such_module_for_the_test missing\): pip install"):
        offline.check_local_extra()


@pytest.mark.real  # a fresh interpreter: what importing the server loads
def test_the_server_process_leaves_out_httpx_s_command_line_tool() -> None:
    """It is never run here, and importing it (click, rich, pygments) cost the first call ~55 ms."""
    code = (
        "import sys; from nemo_mcp.serve import skip_httpx_cli; skip_httpx_cli(); import httpx; "
        "print(httpx.Client is not None, 'rich' in sys.modules, 'httpx._main' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False", "True"]
