"""The pieces that keep a worker alive, in memory: supervised loops, the drain, the exit on a
fatal error, worded 503s, partial uploads left by a killed worker."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient

from nemo_mcp.errors import StoreUnavailable
from nemo_mcp.manifests import Manifest
from nemo_mcp.remote.drain import FATAL_EXIT, Lifecycle
from nemo_mcp.remote.http_app import build_app
from nemo_mcp.remote.leftovers import drop_idle_parts
from nemo_mcp.remote.outage import unavailable
from nemo_mcp.remote.serve_http import uvicorn_config
from nemo_mcp.remote.supervise import next_pause, supervised
from nemo_mcp.settings import Resilience, Settings
from nemo_mcp.words import user_message
from tests.remote.services import HAPROXY_CONFIG

DEPLOYED_HAPROXY = Path(__file__).parents[2] / "deploy" / "haproxy.cfg"


def keep_alive_s(config: str) -> float:
    (line,) = [x for x in config.splitlines() if x.strip().startswith("timeout http-keep-alive")]
    return float(line.split()[-1].removesuffix("s"))


async def test_a_failing_loop_is_restarted_and_its_incident_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[float] = []
    healthy = anyio.Event()

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 4:
            raise ConnectionError("the database is gone")
        healthy.set()
        await anyio.sleep_forever()

    caplog.set_level(logging.DEBUG, logger="nemo_mcp.remote")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: supervised("the loop", flaky, backoff_max=1.0, healthy_after=0.3))
            await healthy.wait()
            await anyio.sleep(0.5)
            tg.cancel_scope.cancel()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(runs) == 5 and len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert [next_pause(p, 5.0) for p in (0.5, 1.0, 4.0, 5.0)] == [1.0, 2.0, 5.0, 5.0]


def test_the_settings_scale_the_timeouts() -> None:
    scaled = Settings.from_env({"NEMO_DB_POOL_TIMEOUT": "2", "NEMO_DRAIN": "0"}).resilience
    assert scaled.pool_timeout == 2.0 and scaled.drain == 0.0
    assert Settings.from_env({}).resilience == Resilience()
    assert Resilience().pool_timeout + Resilience().quick_timeout < 10, "inside the 10 s bound"
    with pytest.raises(Exception, match="NEMO_DRAIN"):
        Settings.from_env({"NEMO_DRAIN": "soon"})


def test_an_outage_is_a_worded_503_with_retry_after() -> None:
    response = unavailable(StoreUnavailable("PoolTimeout"))
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    words = user_message(StoreUnavailable("PoolTimeout"))
    assert words == (
        "The service cannot reach its database; try again in a minute. Nothing was lost."
    )
    assert words.encode() in response.body


def test_draining_turns_readyz_to_503_while_the_worker_still_serves(
    manifest: Manifest, tmp_path: Path
) -> None:
    settings = Settings(config_dir=tmp_path, server_key="k" * 32)
    life = Lifecycle()
    app = build_app(manifest, settings, host="127.0.0.1", lifecycle=life)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        life.drain()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        assert client.get("/healthz").status_code == 200
        assert client.post("/uploads").status_code == 401, "still serving (and asking who)"


def test_a_fatal_error_makes_the_worker_exit_non_zero() -> None:
    class Server:
        should_exit = False

    life = Lifecycle()
    life.server = Server()  # type: ignore[assignment]
    life.fatal(RuntimeError("the lifespan ended"))
    assert life.exit_code == FATAL_EXIT and life.server.should_exit


def test_partial_uploads_are_removed_once_idle(tmp_path: Path) -> None:
    folder = tmp_path / "uploads" / "u_someone"
    folder.mkdir(parents=True)
    stale, live, done = folder / ".a-x.jpg.part", folder / ".b-y.jpg.part", folder / "c-z.jpg"
    for path in (stale, live, done):
        path.write_bytes(b"data")
    os.utime(stale, (time.time() - 100, time.time() - 100))
    assert drop_idle_parts(tmp_path / "uploads", idle_s=60) == 1
    assert not stale.exists() and live.exists() and done.exists()


def test_a_worker_that_cannot_start_exits_non_zero(tmp_path: Path) -> None:
    # No database at the address: the worker must exit (its supervisor restarts it), not
    # linger as a live process that never serves.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path), "NEMO_CONFIG_DIR": str(tmp_path),
        "NEMO_SERVER_KEY": "k" * 32, "NEMO_DB_POOL_TIMEOUT": "1",
        "NEMO_DATABASE_URL": f"postgresql://nemo@127.0.0.1:{closed_port}/nemo",
    }  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "serve", "--http", "--skill", "picture-to-video-ai",
         "--port", "0"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 3, out.stderr[-2000:]


def test_a_worker_keeps_an_idle_connection_longer_than_the_balancer(tmp_path: Path) -> None:
    """A worker that closes an idle connection just as HAProxy sends a request on it loses
    the request: HAProxy closes the client's connection without an answer (the crowd test's
    "Server disconnected without sending a response", with uvicorn's default of 5 s)."""
    config = uvicorn_config(object(), Settings(config_dir=tmp_path), host="127.0.0.1", port=1)
    balancers = [keep_alive_s(DEPLOYED_HAPROXY.read_text()), keep_alive_s(HAPROXY_CONFIG)]
    assert config.timeout_keep_alive > max(balancers) + 5.0, (config.timeout_keep_alive, balancers)
