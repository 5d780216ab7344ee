"""Real services for the multi-worker tests: a throwaway PostgreSQL cluster, HAProxy, workers.

PostgreSQL and HAProxy come from Debian's packages (``.ci/install-remote`` installs them). The
cluster lives in a temporary folder, owned by the ``postgres`` user when the tests run as root
(PostgreSQL refuses to run as root), on a free loopback port with its socket in that folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_local import Faults

SKILL = "picture-to-video-ai"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def haproxy_bin() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None
    )


def require_services() -> tuple[Path, str]:
    """PostgreSQL's binaries and HAProxy, or skip (fail under ``NEMO_REQUIRE_REMOTE``, as in CI)."""
    bindir, haproxy = pg_bin(), haproxy_bin()
    if bindir is None or haproxy is None:
        missing = "PostgreSQL" if bindir is None else "HAProxy"
        if os.environ.get("NEMO_REQUIRE_REMOTE"):
            pytest.fail(f"{missing} is not installed (run .ci/install-remote)")
        pytest.skip(f"{missing} is not installed (run .ci/install-remote)")
    return bindir, haproxy


STORE_TABLES = "nemo_tokens, nemo_leases, nemo_sessions, nemo_renders, nemo_jobs, nemo_handoffs"


async def empty_pg_store(url: str) -> Any:
    """A ``PostgresStore`` on ``url`` with every table emptied (the store tests' clean slate)."""
    from nemo_mcp.remote.pg_store import PostgresStore

    db = await PostgresStore(url).open()
    async with db._pool.connection() as conn:
        await conn.execute(f"TRUNCATE {STORE_TABLES}")
    return db


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class Postgres:
    root: Path
    port: int
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/nemo"

    @classmethod
    def start(cls, bindir: Path) -> Postgres:
        # Not under pytest's folder: as root that is private, and the server runs as postgres.
        root = Path(tempfile.mkdtemp(prefix="nemo-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            os.chmod(root, 0o700)
        data = root / "data"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                          "-A", "trust", "--no-sync", "-E", "UTF8"]),
            **quiet,  # type: ignore[arg-type]
        )  # fmt: skip
        pg = cls(root, free_port(), bindir)
        pg.resume()
        subprocess.run(
            _as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port),
                          "-U", "postgres", "nemo"]),
            **quiet,  # type: ignore[arg-type]
        )  # fmt: skip
        return pg

    def create_database(self, name: str) -> str:
        """A new empty database in this cluster; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def resume(self) -> None:
        """Start the server (again, after ``halt``: same port, same data)."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-o",
                          options, "-l", str(self.root / "log"), "-w", "start"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
        )  # fmt: skip

    def halt(self) -> None:
        """Stop the server as a restart or failover does (connections cut), keeping its data."""
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                          "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                          "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Worker:
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    skill: str | None = SKILL
    """None: the server of every skill."""

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        narrow = ["--skill", self.skill] if self.skill else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nemo_mcp", "serve", "--http", *narrow,
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=out, stderr=out,
        )  # fmt: skip
        out.close()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"worker on {self.port} never became ready: {self.log.read_text()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM, as a rolling deploy sends it; the worker drains, then exits."""
        assert self.proc is not None
        self.proc.terminate()

    def interrupt(self) -> None:
        """SIGINT: after a SIGTERM, the worker stops without waiting out its drain."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


HAPROXY_CONFIG = """
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    timeout http-keep-alive 60s
    option redispatch
    option abortonclose
    retries 2
    http-error status 503 content-type application/json string "{UNAVAILABLE}" hdr Retry-After 30
frontend mcp
    bind 127.0.0.1:{port}
    default_backend workers
backend workers
    balance roundrobin
    option httpchk GET /readyz
{servers}
"""


def haproxy_503_body() -> str:
    """The worded 503 of deploy/haproxy.cfg (no worker ready), as the tests' HAProxy says it."""
    for line in (Path(__file__).parents[2] / "deploy" / "haproxy.cfg").read_text().splitlines():
        if line.strip().startswith("http-error status 503"):
            return line.split('string "', 1)[1].split('" hdr', 1)[0]
    raise LookupError("deploy/haproxy.cfg has no worded 503")


def restart(worker: Worker) -> None:
    """Start ``worker`` again unless it runs (a test restarts the one it killed at once)."""
    if not worker.running:
        worker.start()


@dataclass
class HAProxy:
    port: int
    proc: subprocess.Popen[bytes]
    workers: list[Worker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, root: Path, binary: str, workers: list[Worker]) -> HAProxy:
        port = free_port()
        servers = "\n".join(
            f"    server w{i} 127.0.0.1:{w.port} check inter 1s fall 3 rise 1"
            for i, w in enumerate(workers)
        )
        config = root / "haproxy.cfg"
        text = HAPROXY_CONFIG.format(port=port, servers=servers, UNAVAILABLE="{UNAVAILABLE}")
        config.write_text(text.replace("{UNAVAILABLE}", haproxy_503_body()))
        proc = subprocess.Popen(
            [binary, "-f", str(config), "-db"],
            stdout=open(root / "haproxy.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        proxy = cls(port, proc, workers)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{proxy.url}/healthz", timeout=1).status_code == 200:
                    return proxy
            except httpx.HTTPError:
                time.sleep(0.1)
        proxy.stop()
        raise TimeoutError((root / "haproxy.log").read_text())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


BACKEND_SCRIPT = (
    "from pathlib import Path; import sys, time\n"
    "from nemo_local import LocalBackendConfig, start_in_thread\n"
    "r = start_in_thread(LocalBackendConfig(data_dir=Path(sys.argv[1]), canvas=(180, 320),"
    " seed=11, work_seconds=0.5, heartbeat_interval=0.2, starting_credits=100000,"
    " tokens_per_address=100000))\n"
    "print(r.url, flush=True)\n"
    "time.sleep(1e9)\n"
)


class _Stats:
    def __init__(self, url: str) -> None:
        self.url = url

    def count(self, route: str) -> int:
        routes = httpx.get(f"{self.url}/_local/stats", timeout=30).json()["routes"]
        return int(routes.get(route, 0))

    def snapshot(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/_local/stats", timeout=30).json()
        return answer

    def requests(self, route: str, client_id: str) -> list[dict[str, Any]]:
        """The requests to ``route`` made with the token of the install ``client_id``."""
        recent = self.snapshot()["recent"]
        return [r for r in recent if r["route"] == route and r["client_id"] == client_id]

    def reset(self) -> None:
        httpx.post(f"{self.url}/_local/reset-stats", timeout=30).raise_for_status()

    def settle(self, timeout: float = 30) -> None:
        """Wait until no request is open, so none a test left (a stopped edit's stream, ended
        by its worker within one heartbeat tick) is counted in the next test's figures."""
        deadline = time.monotonic() + timeout
        while (open_ := self.snapshot()["open"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not open_, f"{open_} requests to the backend still open after {timeout} s"


class _Faults:
    def __init__(self, url: str) -> None:
        self.url = url

    def update(self, changes: dict[str, object]) -> None:
        httpx.post(f"{self.url}/_local/faults", json=changes, timeout=30).raise_for_status()

    def all_off(self) -> None:
        """``Faults.all_off`` over the admin route."""
        self.update(Faults(talkative=True).snapshot())


@dataclass
class BackendProcess:
    """The embedded backend in a process of its own (50 clients in the test process would
    starve it of the GIL), driven through its admin routes: counters and fault switches."""

    url: str
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, data_dir: Path) -> BackendProcess:
        proc = subprocess.Popen(
            [sys.executable, "-c", BACKEND_SCRIPT, str(data_dir)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        return cls(proc.stdout.readline().decode().strip(), proc)

    @property
    def stats(self) -> _Stats:
        return _Stats(self.url)

    @property
    def faults(self) -> _Faults:
        return _Faults(self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
