"""Session fixtures: the embedded backend in a process, 3 workers on loopback behind HAProxy, on
the run's one PostgreSQL (``postgres``, in tests/conftest.py). Use ``fresh`` (the cluster with
every fault switch off and the counters at zero), ``new_token`` and ``connect``; the cluster
starts once per run, and tests/conftest.py pins every test using it to one xdist worker.

A test that kills a worker starts it again and goes on; the next test's ``fresh`` waits until
it is ready (by then it usually is), so no test waits out another's restart.

Skipped only when PostgreSQL or HAProxy is not installed and ``NEMO_REQUIRE_REMOTE`` is unset;
CI sets it (after ``.ci/install-remote``), so there a missing service fails instead of skipping.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.remote.leaks import answers_leak_nothing  # noqa: F401 - every answer is checked
from tests.remote.services import (
    BackendProcess,
    HAProxy,
    Postgres,
    Worker,
    free_port,
    require_services,
    restart,
)

WORKERS = 3
SERVER_KEY = "test-server-key-" + "x" * 16


@pytest.fixture(scope="session")
def remote_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendProcess]:
    running = BackendProcess.start(tmp_path_factory.mktemp("remote-backend"))
    yield running
    running.stop()


@dataclass
class Cluster:
    proxy: HAProxy
    workers: list[Worker]
    backend: BackendProcess
    data_dir: Path

    @property
    def url(self) -> str:
        return self.proxy.url


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, remote_backend: BackendProcess
) -> Iterator[Cluster]:
    _, haproxy = require_services()
    keep = os.environ.get("NEMO_REMOTE_KEEP")  # a folder to keep the workers' logs in
    root = Path(keep) if keep else tmp_path_factory.mktemp("cluster")
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root / "home"),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "NEMO_API_URL": remote_backend.url,
        "NEMO_DATABASE_URL": postgres.url,
        "NEMO_SERVER_KEY": SERVER_KEY,
        "NEMO_REMOTE_DIR": str(root / "shared"),
        "NEMO_CONFIG_DIR": str(root / "config"),
        "NEMO_POLL_INTERVAL": "0.2",
        "NEMO_RECOVERY_WAIT": "0.3",
        "NEMO_TOOL_WAIT": "45",
        "NEMO_RENDER_POLLS": "600",
        "NEMO_CONTACT_SHEET": "0",
        # SIGTERM: /readyz says 503 this long (HAProxy here: inter 1s fall 3), then it stops.
        "NEMO_DRAIN": "4",
        # A partial upload of a killed worker is removed after this long without a write.
        "NEMO_PART_IDLE": "5",
    }
    workers = [Worker(free_port(), env, root / f"worker{i}.log") for i in range(WORKERS)]
    proxy = None
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        proxy = HAProxy.start(root, haproxy, workers)
        yield Cluster(proxy, workers, remote_backend, root / "shared")
    finally:  # also when a worker never became ready: no process outlives the session
        if proxy is not None:
            proxy.stop()
        for worker in workers:  # no balancer to drain from: a second signal stops it at once
            if worker.running:
                worker.terminate()
                worker.interrupt()
        for worker in workers:
            worker.stop()


@pytest.fixture
def fresh(cluster: Cluster) -> Cluster:
    for worker in cluster.workers:  # a test that killed one started it again, without waiting
        restart(worker)
        worker.wait_ready()
    cluster.backend.faults.all_off()
    cluster.backend.stats.settle()
    cluster.backend.stats.reset()
    return cluster


def new_token(backend_url: str, client_id: str | None = None) -> str:
    """A user of the embedded backend: a token of their own, as the cloud would have issued;
    ``client_id``, the install's id it is asked with (the backend's stats name it)."""
    client_id = client_id or str(uuid.uuid4())
    answer = httpx.post(
        f"{backend_url}/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
    )
    answer.raise_for_status()
    token: str = answer.json()["data"]["token"]
    return token


@asynccontextmanager
async def connect(url: str, token: str) -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as c:
        yield c
