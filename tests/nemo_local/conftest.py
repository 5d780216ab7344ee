"""Fixtures for the local backend's tests.

Shared file: other engineers append their fixtures below; nothing here is meant to be rewritten.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from nemo_local import (
    Faults,
    LocalBackendConfig,
    RunningBackend,
    start_in_thread,
)

from .local_backend_helpers import User

FAST = {"work_seconds": 0.4, "heartbeat_interval": 0.05, "seed": 3}


def fast_config(data_dir: Path, **changes: object) -> LocalBackendConfig:
    """A config with short timings, for backends a test starts itself."""
    return LocalBackendConfig(data_dir=data_dir, **{**FAST, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def shared_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """One backend in its own thread for the whole run (tests use fresh accounts)."""
    config = fast_config(tmp_path_factory.mktemp("local-backend"), tokens_per_address=100_000)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
def backend(shared_backend: RunningBackend) -> RunningBackend:
    """The shared backend with every switch off, edits never silent, counters reset."""
    shared_backend.faults.update({**Faults().snapshot(), "talkative": True})
    shared_backend.stats.reset()
    return shared_backend


@pytest.fixture
async def http(backend: RunningBackend) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> User:
    return await User.create(http)
