"""The reliability suite's harness: the real local backend on loopback, the real server in memory.

``open_session(**settings)`` starts ``create_server`` against the shared backend (fault switches
off, counters at zero) with short waits, and yields an entered ``Client``. Every test adds what
it tried to ``figures`` (faults injected, bad inputs, files refused, parallel calls); at the end
of the run the totals are written to pytest's cache (``.pytest_cache/v/reliability/figures``)
and printed (``figures.py``), and docs/RELIABILITY.md quotes them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from nemo_local import RunningBackend
from nemo_mcp import errors
from nemo_mcp.manifests import Manifest
from nemo_mcp.server import create_server
from nemo_mcp.settings import Settings
from tests.e2e.conftest import workspace  # noqa: F401 - stdio cells, on the reliability variant
from tests.embedded import RELIABILITY_CANVAS
from tests.reliability.figures import FIGURES

CANVAS = RELIABILITY_CANVAS
TOOL_WAIT = 3.0
DEADLINE_SLACK = 2.0 + 1.5
"""The boundary's own margin (``DEADLINE_MARGIN_S``) and a little for a shared machine."""


@pytest.fixture
def figures() -> Counter[str]:
    """The run's counters (tests/reliability/figures.py adds them up across workers)."""
    return FIGURES


@pytest.fixture
def embedded_variant() -> str:
    return "reliability"


@pytest.fixture
def live_settings(settings: Settings, embedded_backend: RunningBackend, tmp_path: Path) -> Settings:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    return replace(
        settings, api_url=embedded_backend.url, media_roots=(media,), output_dir=tmp_path / "out",
        tool_wait=TOOL_WAIT, poll_interval=0.05, render_polls=400, retry_after=0.1,
        recovery_wait=0.3, heartbeat_timeout=2.0, sse_timeout=20.0, request_timeout=2.0,
        connect_timeout=2.0,
    )  # fmt: skip


@dataclass
class Live:
    client: Client
    settings: Settings
    backend: RunningBackend

    @property
    def media(self) -> Path:
        return self.settings.media_roots[0]

    @property
    def out(self) -> Path:
        return self.settings.output_dir

    async def call(self, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return await self.client.call_tool(tool, arguments or {})

    def count(self, route: str) -> int:
        return self.backend.stats.count(route)


@pytest.fixture
def open_live(live_settings: Settings, manifest: Manifest, embedded_backend: RunningBackend):  # type: ignore[no-untyped-def]
    """``async with open_live(**settings) as live``: a fresh server on the live backend."""

    @asynccontextmanager
    async def open_(**overrides: Any) -> AsyncIterator[Live]:
        settings = replace(live_settings, **overrides)
        server = create_server(manifest, settings)
        async with Client(server, mode="legacy") as client:
            yield Live(client, settings, embedded_backend)

    return open_


def text_of(result: CallToolResult) -> str:
    said = " ".join(getattr(c, "text", "") for c in result.content)
    if result.structured_content is not None:
        said += " " + json.dumps(result.structured_content, ensure_ascii=False)
    return said


ERROR_CLASS_NAMES = sorted(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, BaseException)
) + ["HTTPError", "ReadTimeout", "ConnectError", "RemoteProtocolError", "ValidationError",
     "JSONDecodeError", "OSError", "ConnectionAbortedError", "KeyError", "TypeError"]  # fmt: skip
LEAKS = re.compile(
    r"Traceback|<!DOCTYPE|<html|File \"|\bline \d+, in\b|validation errors? for|pydantic|"
    r"input_value|" + "|".join(ERROR_CLASS_NAMES),
    re.IGNORECASE,
)


def assert_plain_words(said: str) -> None:
    """No backend body, no class name, no traceback, not the catch-all."""
    leak = LEAKS.search(said)
    assert leak is None, f"{leak.group(0)!r} leaked: {said[:400]}"
    assert "Something unexpected" not in said, said[:400]


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part")) if folder.exists() else []
