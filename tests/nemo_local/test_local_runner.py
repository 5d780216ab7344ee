"""Starting and stopping: in the current loop, in a thread, as a foreground process; the public
API; logs without tokens; a bug becomes a 500 envelope."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import nemo_local as local_backend
from nemo_local import LocalBackend, start_in_thread
from nemo_local.app import GuardMiddleware

from .conftest import fast_config
from .local_backend_helpers import User, jpeg

pytestmark = pytest.mark.real  # backends on ports, the module's command as a process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_local_backend_in_the_current_loop(tmp_path: Path) -> None:
    port = free_port()
    async with LocalBackend(fast_config(tmp_path, port=port)) as backend:
        assert backend.url == f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=backend.url) as http:
            answer = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "x"})
            assert answer.status_code == 200
    assert (tmp_path / "media").is_dir() and (tmp_path / "renders").is_dir()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=backend.url) as http:
            await http.get("/_local/faults")


async def test_port_zero_picks_distinct_free_ports(tmp_path: Path) -> None:
    async with (
        LocalBackend(fast_config(tmp_path / "a")) as one,
        LocalBackend(fast_config(tmp_path / "b")) as two,
    ):
        assert one.url != two.url


async def test_a_busy_port_fails_loudly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            async with LocalBackend(fast_config(tmp_path, port=port)):
                pass


def test_start_in_thread_serves_sync_callers_and_stops(tmp_path: Path) -> None:
    running = start_in_thread(fast_config(tmp_path))
    with httpx.Client(base_url=running.url) as http:
        answer = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "t"})
        assert answer.json()["data"]["credits"] == 100
        running.faults.rate_limit_next = 1
        assert http.get("/api/credits/balance/simple").status_code == 429
    assert running.stats.count("anonymous_token") == 1
    running.stop()
    running.stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(base_url=running.url) as http:
        http.get("/_local/faults")


def test_module_cli_prints_the_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nemo_local",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "cli"})
        assert answer.status_code == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert out == "", "nothing but the URL line on stdout"
    assert "local backend listening" in err
    assert answer.json()["data"]["token"] not in err


def test_importing_the_package_does_not_load_the_renderer() -> None:
    code = (
        "import sys, nemo_local; "
        "print(any(m in sys.modules for m in ('nemo_local.encode', 'PIL', 'av')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_all_is_honest() -> None:
    assert sorted(local_backend.__all__) == [
        "Faults",
        "LocalBackend",
        "LocalBackendConfig",
        "RunningBackend",
        "Stats",
        "serve_forever",
        "start_in_thread",
    ]
    for name in local_backend.__all__:
        assert getattr(local_backend, name) is not None


async def test_tokens_never_reach_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        LocalBackend(fast_config(tmp_path)) as backend,
        httpx.AsyncClient(base_url=backend.url) as http,
    ):
        user = await User.create(http)
        await user.upload(("a.jpg", jpeg()))
        await user.send("animate this image")
        backend.faults.update({"fail_next_render": True, "expire_token": True})
        await http.get("/api/credits/balance/simple", headers=user.headers)
        await http.post("/_local/faults", json={"drop_next_stream": True})
        fresh = await User.create(http)
        await http.get("/api/credits/balance/simple", headers={"Authorization": "Bearer bad"})
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "something was logged"
    assert user.token not in logged and fresh.token not in logged
    assert "nmv_usr_" not in logged


async def test_a_bug_becomes_a_500_envelope_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(request: Request) -> Response:
        raise ZeroDivisionError("a bug")

    app = Starlette(routes=[Route("/x", broken)], middleware=[Middleware(GuardMiddleware)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://local") as http:
        answer = await http.get("/x")
    assert answer.status_code == 500
    assert answer.json() == {
        "code": 500,
        "data": None,
        "message": "Internal error in the local backend.",
    }
    assert "ZeroDivisionError" in caplog.text


async def test_accepted_sockets_send_small_writes_at_once(tmp_path: Path) -> None:
    """TCP_NODELAY on every accepted connection: without it a keep-alive answer (headers, then
    body) waits on the client's delayed ACK, ~40 ms a request."""
    async with (
        LocalBackend(fast_config(tmp_path)) as backend,
        httpx.AsyncClient(base_url=backend.url) as http,
    ):
        for _ in range(2):  # the second request rides the kept-alive connection
            answer = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "n"})
            assert answer.status_code == 200
        assert backend._server is not None
        connections = backend._server.server_state.connections
        sockets = [c.transport.get_extra_info("socket") for c in connections]  # type: ignore[attr-defined]
        assert sockets, "the kept-alive connection is open"
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
