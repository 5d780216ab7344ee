"""Stale and stuck records: ``doctor`` names them, ``nemo-mcp state --prune`` clears them by the
documented ages (``store.Retention``, docs/STATE.md), and never touches live or untold work,
even while a server runs."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import anyio
from mcp import Client

from nemo_mcp.store import JobRecord, RenderRecord, Scope, SQLiteStore, TokenRecord
from nemo_mcp.store.base import DAY_S
from nemo_mcp.store.sqlite import STATE_FILE
from tests.e2e.conftest import MakeMedia, Workspace, run_cli, structured

SCOPE = Scope("http://backend.test", "", "picture-to-video-ai")
DOCTOR = ("doctor", "--skill", "picture-to-video-ai")


def cli(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """``nemo-mcp ARGS`` with the workspace's environment, in this process: these commands need
    no process of their own (the server a prune runs beside is one)."""
    return run_cli(workspace.params().env or {}, *args)


def ids(config: Path, table: str, column: str) -> set[str]:
    with sqlite3.connect(config / STATE_FILE) as db:
        return {row[0] for row in db.execute(f"SELECT {column} FROM {table}")}


async def _job(store: SQLiteStore, name: str, age_days: float, **fields: object) -> None:
    when = time.time() - age_days * DAY_S
    record = JobRecord(
        id=name, scope=SCOPE, kind="edit", key=name, label=name, owner="gone:1:x",
        created_at=when, started_at=when, heartbeat_at=when, status="running",
    )  # fmt: skip
    await store.add_job(record, serial=False)
    if fields:
        await store.update_job(name, **fields)
    await store.record_handoff(name, "s1", "digest")


async def _age(config: Path) -> None:
    """A config folder as a month of use leaves it: some records past their time, some not."""
    store = SQLiteStore.in_folder(config)
    now = time.time()
    await _job(store, "told-8d", 8, status="done", reported=True, finished_at=now - 8 * DAY_S)
    await _job(store, "untold-8d", 8, status="done", finished_at=now - 8 * DAY_S)
    await _job(store, "untold-31d", 31, status="done", finished_at=now - 31 * DAY_S)
    await _job(store, "stuck-2d", 2)
    await _job(store, "long-but-alive", 2, heartbeat_at=now)
    await store.save_render(SCOPE, RenderRecord("render-old", "s1", "d", now - 4 * DAY_S))
    other = Scope(SCOPE.backend, "", "dreamface-ai")
    await store.save_render(other, RenderRecord("render-new", "s2", "d", now - 60))
    await store.save_token("http://old.test", "", TokenRecord("t-old", now - 1, "c"))
    await store.save_token(SCOPE.backend, "", TokenRecord("t-new", now + DAY_S, "c"))
    await store.close()


async def test_doctor_names_stuck_records_and_prune_clears_only_what_is_past_its_time(
    workspace: Workspace,
) -> None:
    await _age(workspace.config)
    before = ids(workspace.config, "jobs", "id")

    doctor = await anyio.to_thread.run_sync(cli, workspace, *DOCTOR)
    assert doctor.returncode == 1, doctor.stdout
    assert "FIX  1 job record(s) stuck for over a day" in doctor.stdout
    assert "nemo-mcp state --prune" in doctor.stdout

    looked = await anyio.to_thread.run_sync(cli, workspace, "state")
    assert looked.returncode == 0, looked.stdout
    assert str(workspace.config / STATE_FILE) in looked.stdout
    assert (
        "stale: 2 finished job(s) past their time, 1 stuck job(s), 1 old render record(s), "
        "1 expired token(s)" in looked.stdout
    )
    assert ids(workspace.config, "jobs", "id") == before  # looking changes nothing

    pruned = await anyio.to_thread.run_sync(cli, workspace, "state", "--prune")
    assert pruned.returncode == 0, pruned.stdout
    assert "removed: 2 finished job(s)" in pruned.stdout
    assert ids(workspace.config, "jobs", "id") == {"untold-8d", "long-but-alive"}
    assert ids(workspace.config, "handoffs", "job_id") == {"untold-8d", "long-but-alive"}
    assert ids(workspace.config, "renders", "render_id") == {"render-new"}
    assert ids(workspace.config, "tokens", "token") == {"t-new"}

    again = await anyio.to_thread.run_sync(cli, workspace, *DOCTOR)
    assert "job and render records are in order" in again.stdout, again.stdout


async def test_pruning_while_a_server_works_loses_nothing(
    workspace: Workspace, photos: MakeMedia
) -> None:
    images = photos(2)
    async with Client(workspace.params(NEMO_TOOL_WAIT="0.5"), mode="legacy") as client:
        structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
        workspace.backend.faults.update({"heartbeat_only_seconds": 2.0})
        started = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        assert started["status"] == "running"
        pruned = await anyio.to_thread.run_sync(cli, workspace, "state", "--prune")
        assert "removed: 0 finished job(s) past their time, 0 stuck job(s)" in pruned.stdout
        with anyio.fail_after(30):
            while (told := structured(await client.call_tool("send_edit", {"message": "status"})))[
                "status"
            ] == "running":
                await anyio.sleep(0.2)
    assert told["job_id"] == started["job_id"] and told["status"] == "done", told
    assert workspace.backend.stats.count("run_sse") == 1


def test_doctor_names_an_output_folder_that_cannot_take_the_video(workspace: Workspace) -> None:
    (workspace.root / "notes.txt").write_text("x")
    workspace.env["NEMO_OUTPUT_DIR"] = str(workspace.root / "notes.txt" / "videos")
    doctor = cli(workspace, *DOCTOR)
    assert doctor.returncode == 1
    assert f"FIX  output folder {workspace.root / 'notes.txt' / 'videos'}" in doctor.stdout
