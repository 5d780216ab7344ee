"""Workers leave, as deploys and crashes make them: ``kill -9`` mid-upload, and a rolling restart
of all three under steady load (SIGTERM: drain, finish what it holds, leave the rest on record).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from nemo_mcp.samples import make_photo
from tests.e2e.conftest import structured
from tests.remote.conftest import Cluster, connect, new_token
from tests.remote.flows import make_video
from tests.remote.load import Load
from tests.remote.services import restart

HELD_S = 60.0


def parts(cluster: Cluster) -> list[Path]:
    return sorted(cluster.data_dir.glob("uploads/*/.*.part"))


async def test_kill_9_mid_upload_loses_nothing_and_leaves_nothing(
    fresh: Cluster, tmp_path: Path
) -> None:
    token = new_token(fresh.backend.url)
    auth = {"Authorization": f"Bearer {token}"}
    victim = fresh.workers[2]
    before = set(parts(fresh))

    async def body() -> AsyncIterator[bytes]:
        yield b"\xff\xd8\xff" + b"\x00" * 256 * 1024
        await anyio.sleep(HELD_S)  # the rest never comes: the worker dies first
        yield b"\xff\xd9"

    async def upload() -> None:
        url = f"http://127.0.0.1:{victim.port}"
        async with httpx.AsyncClient(base_url=url, headers=auth, timeout=HELD_S) as http:
            try:
                await http.post("/uploads", params={"name": "half.jpg"}, content=body())
            except httpx.HTTPError:
                pass  # the worker was killed under it

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(upload)
            with anyio.fail_after(30):
                while not (left := set(parts(fresh)) - before):
                    await anyio.sleep(0.05)
            victim.kill()
            tg.cancel_scope.cancel()
        victim.start()  # as its supervisor would; what follows does not wait for it
        (part,) = left
        assert part.exists(), "the killed worker left its partial upload"

        # The user uploads again (HAProxy sends it to a live worker) and the file is used.
        photo = make_photo(tmp_path / "whole.jpg", 2, (320, 480))
        async with httpx.AsyncClient(base_url=fresh.url, headers=auth, timeout=60) as http:
            ref = await http.post(
                "/uploads", params={"name": "whole.jpg"}, content=photo.read_bytes()
            )
        assert ref.status_code == 200, ref.text
        async with connect(fresh.url, token) as client:
            uploaded = structured(
                await client.call_tool("upload_media", {"urls": [ref.json()["ref"]]})
            )
        assert uploaded["status"] == "done", uploaded

        # Nothing writes to the partial file any more: a live worker removes it.
        with anyio.fail_after(30):
            while part.exists():
                await anyio.sleep(0.2)
        kept = sorted(p.name for p in part.parent.iterdir())
        assert len(kept) == 1 and kept[0].endswith("-whole.jpg"), kept
    finally:
        restart(victim)  # the next test's ``fresh`` waits until it is ready


@pytest.mark.chaos
async def test_a_rolling_restart_under_load_fails_no_call(fresh: Cluster, tmp_path: Path) -> None:
    load = Load(fresh.url, [new_token(fresh.backend.url) for _ in range(4)], pause=0.1)
    flows: list[str] = []
    errors: list[str] = []
    stop = anyio.Event()

    async def videos(index: int) -> None:
        while not stop.is_set():  # whole flows: uploads, edits and exports held across workers
            token = new_token(fresh.backend.url)
            try:
                await make_video(fresh.url, token, tmp_path / f"v{index}-{len(flows)}", index)
                flows.append(token)
            except Exception as exc:  # noqa: BLE001 - every failure is reported at the end
                errors.append(repr(exc))

    took: list[float] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(load.run, stop)
        for index in range(2):
            tg.start_soon(videos, index)
        await anyio.sleep(2.0)
        for worker in fresh.workers:
            started = time.monotonic()
            worker.terminate()
            assert worker.proc is not None
            await anyio.to_thread.run_sync(worker.proc.wait, 120)
            took.append(time.monotonic() - started)
            worker.start()
            await anyio.to_thread.run_sync(worker.wait_ready)
            await anyio.sleep(2.0)  # HAProxy sees it up (inter 1 s, rise 1) before the next
        stop.set()

    failed = [(a.status, a.text[:200]) for a in load.answers if not a.ok]
    print(json.dumps({"calls": len(load.answers), "flows": len(flows), "drain_and_exit_s": took}))
    assert failed == [] and errors == []
    assert len(load.answers) > 50 and flows
