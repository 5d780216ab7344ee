"""``kill -9`` of a worker mid-work. Holding a render: another worker finishes it, the user gets
the file, and it was submitted once. Mid-stream: another worker reports the edit as interrupted,
with what the project shows, and the message is never sent again."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import httpx
import psycopg

from nemo_mcp.samples import make_photo
from tests.e2e.conftest import structured
from tests.remote.conftest import Cluster, connect, new_token
from tests.remote.services import Postgres, Worker, restart

SLOW_MS = 600
"""Every backend answer waits this long, so the render is still being polled when we kill."""


EXPORT_OWNER = (
    "SELECT j.owner FROM nemo_jobs j JOIN nemo_renders r USING (backend, user_key) "
    "WHERE j.kind = 'export' AND j.status = 'running' AND j.owner LIKE '%:%'"
)
EDIT_OWNER = (
    "SELECT j.owner FROM nemo_jobs j JOIN nemo_handoffs h ON h.job_id = j.id "
    "WHERE j.kind = 'edit' AND j.status = 'running' AND j.owner LIKE '%:%'"
)


def owner(pg: Postgres, query: str, timeout: float = 60) -> str:
    """The worker holding the job ``query`` finds (``host:pid:nonce``)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(pg.url, autocommit=True) as db:
        while time.monotonic() < deadline:
            if row := db.execute(query).fetchone():
                return str(row[0])
            time.sleep(0.05)
    raise TimeoutError("no job got that far")


def worker_of(cluster: Cluster, holder: str) -> Worker:
    pid = int(holder.split(":")[1])
    return next(w for w in cluster.workers if w.pid == pid)


def metrics_of(worker: Worker) -> str:
    """A worker's /metrics; the killed one's once it has started again (its sweep may have
    taken the job over just before it listens)."""
    try:
        return httpx.get(f"http://127.0.0.1:{worker.port}/metrics").text
    except httpx.TransportError:
        worker.wait_ready()
        return httpx.get(f"http://127.0.0.1:{worker.port}/metrics").text


async def call_and_lose_the_answer(url: str, token: str, tool: str, args: dict[str, str]) -> None:
    try:
        async with connect(url, token) as client:
            await client.call_tool(tool, args)
    except Exception:
        pass  # the worker answering it was killed


async def upload_photo(http: httpx.AsyncClient, url: str, token: str, photo: Path) -> None:
    ref = await http.post("/uploads", params={"name": photo.name}, content=photo.read_bytes())
    async with connect(url, token) as client:
        structured(await client.call_tool("upload_media", {"urls": [ref.json()["ref"]]}))


async def test_a_killed_worker_render_is_finished_by_another(
    fresh: Cluster, postgres: Postgres, tmp_path: Path
) -> None:
    token = new_token(fresh.backend.url)
    auth = {"Authorization": f"Bearer {token}"}
    photo = make_photo(tmp_path / "p.jpg", 3, (320, 480))
    async with httpx.AsyncClient(base_url=fresh.url, headers=auth, timeout=60) as http:
        ref = await http.post("/uploads", params={"name": "p.jpg"}, content=photo.read_bytes())
        async with connect(fresh.url, token) as client:
            structured(await client.call_tool("upload_media", {"urls": [ref.json()["ref"]]}))
            message = {"message": "turn these photos into a video"}
            structured(await client.call_tool("send_edit", message))

        fresh.backend.faults.update({"slow_ms": SLOW_MS})
        victim: Worker | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(call_and_lose_the_answer, fresh.url, token, "export_video", {})
                holder = await anyio.to_thread.run_sync(owner, postgres, EXPORT_OWNER)
                victim = worker_of(fresh, holder)
                with anyio.fail_after(30):  # the submit answered: the worker is now polling
                    while fresh.backend.stats.count("render_submit") == 0:
                        await anyio.sleep(0.02)
                victim.kill()
                victim.start()  # as its supervisor would; the take-over does not wait for it
                tg.cancel_scope.cancel()
            fresh.backend.faults.update({"slow_ms": 0})

            result: dict[str, object] = {}
            with anyio.fail_after(90):
                while result.get("status") != "done":
                    async with connect(fresh.url, token) as client:
                        result = structured(await client.call_tool("export_video", {}))
                    if result["status"] != "done":
                        await anyio.sleep(0.5)
            video = await http.get(str(result["url"]).removeprefix(fresh.url))
            assert video.status_code == 200 and video.content[4:8] == b"ftyp"
            assert fresh.backend.stats.count("render_submit") == 1, "never rendered twice"
            with psycopg.connect(postgres.url, autocommit=True) as db:
                owners = db.execute(
                    "SELECT owner FROM nemo_jobs WHERE id = %s", (result["job_id"],)
                ).fetchone()
            assert owners is not None and owners[0] != holder, "another worker finished it"
            adoptions = [  # what an operator sees: the workers' /metrics count the take-over
                line for w in fresh.workers
                for line in metrics_of(w).splitlines()
                if line.startswith("nemo_adoptions_total ")
            ]  # fmt: skip
            assert sum(float(line.split()[1]) for line in adoptions) >= 1, adoptions
        finally:
            fresh.backend.faults.update({"slow_ms": 0})
            if victim is not None:
                restart(victim)  # the next test's ``fresh`` waits until it is ready


async def test_a_killed_worker_edit_is_reported_interrupted_never_resent(
    fresh: Cluster, postgres: Postgres, tmp_path: Path
) -> None:
    install = str(uuid.uuid4())
    token = new_token(fresh.backend.url, install)
    auth = {"Authorization": f"Bearer {token}"}
    photo = make_photo(tmp_path / "p.jpg", 4, (320, 480))
    victim: Worker | None = None
    async with httpx.AsyncClient(base_url=fresh.url, headers=auth, timeout=60) as http:
        await upload_photo(http, fresh.url, token, photo)
        # The stream stays open (heartbeats only) long enough to kill its worker mid-stream.
        fresh.backend.faults.update({"heartbeat_only_seconds": 30})
        try:
            async with anyio.create_task_group() as tg:
                message = {"message": "turn these photos into a video"}
                tg.start_soon(call_and_lose_the_answer, fresh.url, token, "send_edit", message)
                holder = await anyio.to_thread.run_sync(owner, postgres, EDIT_OWNER)
                victim = worker_of(fresh, holder)
                with anyio.fail_after(30):  # the backend is running the message: mid-stream
                    while (await http.get(f"{fresh.backend.url}/_local/idle")).json()["idle"]:
                        await anyio.sleep(0.02)
                victim.kill()
                victim.start()  # as its supervisor would; the report does not wait for it
                tg.cancel_scope.cancel()

            jobs: list[dict[str, object]] = []
            try:
                with anyio.fail_after(60):
                    while not any(j["status"] == "interrupted" for j in jobs):
                        async with connect(fresh.url, token) as client:
                            timeline = structured(await client.call_tool("get_timeline", {}))
                        jobs = list(timeline["jobs"])  # type: ignore[call-overload]
                        await anyio.sleep(0.3)
            except TimeoutError:
                with psycopg.connect(postgres.url, autocommit=True) as db:
                    rows = db.execute(
                        "SELECT id, status, owner, message, reported FROM nemo_jobs "
                        "WHERE kind = 'edit' ORDER BY seq DESC LIMIT 3"
                    ).fetchall()
                raise AssertionError(f"never reported interrupted: {jobs} {rows}") from None
            interrupted = next(j for j in jobs if j["status"] == "interrupted")
            assert "It was not sent again" in str(interrupted["message"]), interrupted
            sent = fresh.backend.stats.requests("run_sse", install)
            every = [r for r in fresh.backend.stats.snapshot()["recent"] if r["route"] == "run_sse"]
            assert len(sent) == 1, f"the message was never sent again: {sent} (all: {every})"
        finally:
            fresh.backend.faults.update({"heartbeat_only_seconds": 0})
            if victim is not None:
                restart(victim)  # the next test's ``fresh`` waits until it is ready
