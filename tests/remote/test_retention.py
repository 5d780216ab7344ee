"""Files in the shared folder: pruned by the records' rules, one worker at a time; a full disk
refused in words with no partial file left.

The full disk is real: a tmpfs of a few kilobytes mounted over one user's folder (the workers
see it at once). Mounting needs root; elsewhere those tests skip, saying so (a fault switch
would test our check, not the file system's answer).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from nemo_mcp.manifests import get_manifest, load_manifests
from nemo_mcp.remote.auth import Keys
from nemo_mcp.remote.files import receive_upload
from nemo_mcp.remote.limits import open_pool
from nemo_mcp.remote.retention import (
    RETENTION_LOCK,
    FileFacts,
    doomed,
    prune_files,
    prune_once,
)
from nemo_mcp.store import Retention, Scope, SQLiteStore
from tests.e2e.conftest import error_text
from tests.remote.conftest import SERVER_KEY, Cluster, connect, new_token
from tests.remote.flows import make_video
from tests.remote.services import SKILL, Postgres
from tests.store.conftest import job

DAY = 86400.0
RULES = Retention()


@contextmanager
def small_folder(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_files_go_with_their_records_and_partial_uploads_after_an_hour() -> None:
    files = [
        FileFacts("a1b2c3d4e5f6-old.jpg", 8 * DAY), FileFacts("a1b2c3d4e5f6-new.jpg", DAY),
        FileFacts("needed.mp4", 8 * DAY), FileFacts("ancient.mp4", 31 * DAY),
        FileFacts(".x.jpg.part", 2 * 3600), FileFacts(".y.jpg.part", 60),
    ]  # fmt: skip
    gone = doomed(files, still_needed='{"path": "needed.mp4", "x": "ancient.mp4"}', retention=RULES)
    assert sorted(gone) == [".x.jpg.part", "a1b2c3d4e5f6-old.jpg", "ancient.mp4"]


async def test_a_pass_removes_old_files_unless_a_job_still_needs_them(tmp_path: Path) -> None:
    store = SQLiteStore.in_folder(tmp_path / "config")
    user = "u_" + "1" * 40
    uploads, exports = tmp_path / "shared/uploads" / user, tmp_path / "shared/exports" / user
    for folder in (uploads, exports, tmp_path / "shared/uploads/u_gone"):
        folder.mkdir(parents=True)
    old = time.time() - 8 * DAY
    for path in (uploads / "abc-old.jpg", exports / "kept.mp4", exports / "told.mp4",
                 tmp_path / "shared/uploads/u_gone/x.jpg"):  # fmt: skip
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    (uploads / "abc-fresh.jpg").write_bytes(b"x")
    scope = Scope("local", user, SKILL)
    export = job("e", kind="export", scope=scope)
    await store.add_job(export, serial=False)
    await store.update_job(
        export.id, status="done", result='{"path": "/x/kept.mp4"}', finished_at=time.time()
    )
    just_made, abandoned = tmp_path / "shared/exports/u_new", tmp_path / "shared/exports/u_left"
    for folder in (just_made, abandoned):
        folder.mkdir()
    os.utime(abandoned, (old, old))
    removed = await prune_files(tmp_path / "shared", store, "local", SKILL, RULES)
    assert removed == 3 and not (tmp_path / "shared/uploads/u_gone").exists()
    assert just_made.is_dir(), "an export that just made its folder is about to write into it"
    assert not abandoned.exists()
    assert sorted(p.name for p in (*uploads.iterdir(), *exports.iterdir())) == [
        "abc-fresh.jpg", "kept.mp4",  # its result was never told: kept for the month
    ]  # fmt: skip
    await store.close()


async def test_one_worker_at_a_time_prunes(postgres: Postgres, tmp_path: Path) -> None:
    store = SQLiteStore.in_folder(tmp_path / "config")
    pool = await open_pool(postgres.url)
    try:
        async with pool.connection() as other, other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock(%s)", (RETENTION_LOCK,))
            assert await prune_once(tmp_path, store, pool, "local", SKILL, RULES) is None
        assert await prune_once(tmp_path, store, pool, "local", SKILL, RULES) == 0
    finally:
        await pool.close()
        await store.close()


async def test_a_disk_filling_mid_upload_is_refused_with_no_partial_file(tmp_path: Path) -> None:
    users = SimpleNamespace(
        max_upload_mb=get_manifest(SKILL, load_manifests()).max_upload_mb,
        data_dir=tmp_path,
        settings=SimpleNamespace(min_free_mb=0),
    )

    async def upload(request: Request) -> object:
        return await receive_upload(request, users, "u_me")  # type: ignore[arg-type]

    app = Starlette(routes=[Route("/uploads", upload, methods=["POST"])])
    with small_folder(tmp_path / "uploads" / "u_me", "256k") as folder:

        async def body() -> object:
            for _ in range(8):  # 1 MB, no length declared: it meets the full disk mid-way
                yield b"\1" * 131072

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.post("/uploads?name=big.mp4", content=body())
        assert answer.status_code == 507 and "no room" in answer.json()["error"]
        assert list(folder.iterdir()) == []


async def test_a_full_shared_folder_is_refused_in_words(fresh: Cluster, tmp_path: Path) -> None:
    token = new_token(fresh.backend.url)
    key = Keys.from_setting(SERVER_KEY).user_key(token)
    auth = {"Authorization": f"Bearer {token}"}
    with small_folder(fresh.data_dir / "uploads" / key, "64k") as folder:
        answer = httpx.post(f"{fresh.url}/uploads?name=p.jpg", content=b"\xff" * 1000, headers=auth)
        assert answer.status_code == 507 and "nothing was kept" in answer.json()["error"]
        assert list(folder.iterdir()) == []
    made = await make_video(fresh.url, token, tmp_path, 5)  # room again: it works
    with small_folder(fresh.data_dir / "exports" / key, "64k") as folder:
        async with connect(fresh.url, token) as client:
            await client.call_tool("send_edit", {"message": "add the title Hello"})
            renders = fresh.backend.stats.count("render_submit")
            text = error_text(await client.call_tool("export_video", {}))
        assert "cannot store the video" in text and str(fresh.data_dir) not in text
        assert key not in text and fresh.backend.stats.count("render_submit") == renders
        assert list(folder.iterdir()) == []
    assert made.mp4
