from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nemo_mcp.store import JobRecord, Scope, SQLiteStore, StateStore
from tests.remote.services import empty_pg_store

SCOPE = Scope("https://api.nemo.test", "", "picture-to-video-ai")


ON_POSTGRES = pytest.param("postgres", marks=[pytest.mark.real, pytest.mark.xdist_group("cluster")])


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore.in_folder(tmp_path / "config")
    yield db
    await db.close()


@pytest.fixture(params=["sqlite", ON_POSTGRES])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    """The store contract: a test taking ``store`` runs on SQLite (in memory tier) and again on
    the run's real PostgreSQL (the ``[postgres]`` case, pinned to the cluster's worker)."""
    if request.param == "sqlite":
        db: StateStore = SQLiteStore.in_folder(tmp_path / "config")
    else:
        db = await empty_pg_store(request.getfixturevalue("pg_store_url"))
    yield db
    await db.close()


def job(key: str, *, kind: str = "edit", scope: Scope = SCOPE, owner: str = "me") -> JobRecord:
    now = time.time()
    return JobRecord(
        id=f"{kind}-{key}-{scope.skill}", scope=scope, kind=kind, key=key, label=key,  # type: ignore[arg-type]
        status="running", owner=owner, heartbeat_at=now, created_at=now, started_at=now,
    )  # fmt: skip
