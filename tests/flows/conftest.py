from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import BaseModel

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.flows.kinds import SPECS
from nemo_mcp.jobs import JobManager, RunningJob
from nemo_mcp.manifests import Manifest
from nemo_mcp.results import JobResult
from nemo_mcp.settings import Settings
from nemo_mcp.store import JobRecord, SQLiteStore
from tests.conftest import API

SID = "s1"
STATE = f"/api/state/nemo_agent/me/{SID}/latest"
DRAFT = {"t": [{"tt": 0, "sg": [{"d": 3000, "m": {"name": "a.jpg"}}]}]}
TITLED = {"t": [*DRAFT["t"], {"tt": 7, "sg": [{"d": 3000, "m": {"text": "Hi"}}]}]}
MP4 = b"\0\0\0\x18ftypisom" + b"\1" * 500


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "data": data})


def state(draft: dict[str, Any]) -> httpx.Response:
    return ok({"state": {"draft": draft}})


def sse(body: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.fixture
def router() -> respx.MockRouter:
    r = respx.MockRouter(base_url=API, assert_all_called=False)
    r.post("/api/auth/anonymous-token").mock(return_value=ok({"token": "nmv_usr_wf_token"}))
    r.post("/api/tasks/me/with-session/nemo_agent").mock(
        return_value=ok({"session_id": SID, "task_id": "t1"})
    )
    r.post("/api/auth/claim-token").mock(return_value=ok({"claim_token": "clm_x"}))
    return r


@dataclass
class Env:
    """A client on the routes, a real store, and a job manager in the test's own task group."""

    client: BackendClient
    store: SQLiteStore
    jobs: JobManager
    settings: Settings

    async def job(self, kind: str, request: BaseModel, *, resumed: bool = False) -> RunningJob:
        now = time.time()
        record = JobRecord(
            id=f"{kind}-{now}", scope=self.client.scope, kind=kind, key=f"{kind}-{now}",  # type: ignore[arg-type]
            label=kind, request=request.model_dump_json(), owner="test", created_at=now,
            started_at=now, heartbeat_at=now,
        )  # fmt: skip
        stored, _ = await self.store.add_job(record, serial=False)
        return RunningJob(stored, resumed, self.store)


@asynccontextmanager
async def flow_env(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, **overrides: Any
) -> AsyncIterator[Env]:
    s = replace(settings, **overrides)
    store = SQLiteStore.in_folder(s.config_dir)
    transport = httpx.MockTransport(router.async_handler)

    async def never(job: RunningJob) -> JobResult:
        raise AssertionError("the flows are run directly in these tests")

    async with BackendClient(s, manifest, store, transport=transport) as client:
        async with anyio.create_task_group() as tg:
            jobs = JobManager(store, tg, never, str, kinds=SPECS, holder="t:1:x")
            yield Env(client, store, jobs, s)
            tg.cancel_scope.cancel()
    await store.close()
