"""Fixtures for the local backend's tests: ``embedded_backend`` (tests/conftest.py; the ``quick``
variant of tests/embedded.py), ``http`` (a client on it) and ``user`` (a fresh account on it).
``fast_config`` is for the tests that start a backend of their own (to stop or restart it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nemo_local import (
    LocalBackendConfig,
    RunningBackend,
)
from tests.embedded import QUICK

from .local_backend_helpers import User


def fast_config(data_dir: Path, **changes: object) -> LocalBackendConfig:
    """A config with short timings, for backends a test starts itself."""
    return LocalBackendConfig(data_dir=data_dir, **{**QUICK, **changes})  # type: ignore[arg-type]


@pytest.fixture
async def http(embedded_backend: RunningBackend) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=embedded_backend.url, timeout=30) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> User:
    return await User.create(http)
