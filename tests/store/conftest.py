from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nemo_mcp.store import JobRecord, Scope, SQLiteStore

SCOPE = Scope("https://api.nemo.test", "", "picture-to-video-ai")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore.in_folder(tmp_path / "config")
    yield db
    await db.close()


def job(key: str, *, kind: str = "edit", scope: Scope = SCOPE, owner: str = "me") -> JobRecord:
    now = time.time()
    return JobRecord(
        id=f"{kind}-{key}-{scope.skill}", scope=scope, kind=kind, key=key, label=key,  # type: ignore[arg-type]
        status="running", owner=owner, heartbeat_at=now, created_at=now, started_at=now,
    )  # fmt: skip
