"""``kill -9`` of the worker holding a render: another worker finishes it, the user gets the file,
and the render was submitted once."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest

from nemo_mcp.samples import make_photo
from tests.remote.conftest import Cluster, connect, new_token, structured
from tests.remote.services import Postgres, Worker

SLOW_MS = 600
"""Every backend answer waits this long, so the render is still being polled when we kill."""


def export_owner(pg: Postgres, timeout: float = 60) -> str:
    """The worker holding the running export, once its render is on record and submitted."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(pg.url, autocommit=True) as db:
        while time.monotonic() < deadline:
            row = db.execute(
                "SELECT j.owner FROM nemo_jobs j JOIN nemo_renders r USING (backend, user_key) "
                "WHERE j.kind = 'export' AND j.status = 'running' AND j.owner LIKE '%:%'"
            ).fetchone()
            if row:
                return str(row[0])
            time.sleep(0.05)
    raise TimeoutError("no export got as far as its render")


@pytest.mark.slow
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

                async def export_and_lose_the_answer() -> None:
                    try:
                        async with connect(fresh.url, token) as client:
                            await client.call_tool("export_video", {})
                    except Exception:
                        pass  # the worker answering it was killed

                tg.start_soon(export_and_lose_the_answer)
                owner = await anyio.to_thread.run_sync(export_owner, postgres)
                pid = int(owner.split(":")[1])
                victim = next(w for w in fresh.workers if w.pid == pid)
                with anyio.fail_after(30):  # the submit answered: the worker is now polling
                    while fresh.backend.stats.count("render_submit") == 0:
                        await anyio.sleep(0.02)
                victim.kill()
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
            assert owners is not None and owners[0] != owner, "another worker finished it"
        finally:
            fresh.backend.faults.update({"slow_ms": 0})
            if victim is not None:
                victim.start()
                victim.wait_ready()
