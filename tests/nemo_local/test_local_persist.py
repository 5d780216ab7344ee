"""A keeping backend (``serve --local``) finds its accounts, sessions, uploads and renders again
after a restart on another port; pruning follows the documented rule."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from nemo_local import start_in_thread
from nemo_local.persist import (
    KEEP_DAYS,
    STATE_FILE,
    FolderBusy,
    owned,
    prune_folder,
    read_state,
)

from .conftest import fast_config
from .local_backend_helpers import User, jpeg

pytestmark = pytest.mark.real  # backends stopped and restarted on ports, processes


async def _until_saved(data: Path, text: str) -> None:
    """The writer task saves in the background: wait (briefly) until the file shows ``text``."""
    import anyio

    with anyio.fail_after(10):
        while text not in (data / STATE_FILE).read_text():
            await anyio.sleep(0.02)


def _keeping(data: Path, **changes: object):  # type: ignore[no-untyped-def]
    return start_in_thread(fast_config(data, keep_state=True, **changes))


async def test_a_restart_on_another_port_finds_token_session_media_and_render(
    tmp_path: Path,
) -> None:
    with _keeping(tmp_path, starting_credits=1000) as first:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            user = await User.create(http)
            media = await user.upload(("a.jpg", jpeg()))
            await _until_saved(tmp_path, media[0]["media_id"])  # written while it runs
            await user.send("animate this image")
            draft = await user.draft()
            render = await user.submit_render("r1")
            assert render.status_code == 200
            done = await user.wait_render("r1")
            balance = await user.balance()
    assert done["status"] == "completed"
    with _keeping(tmp_path, starting_credits=1000) as second:
        assert second.url != first.url
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as http:
            user.http = http
            state = (await user.state())["state"]
            assert state["draft"] == draft
            [info] = state["video_infos"]
            assert info["media_id"] == media[0]["media_id"]
            assert info["url"].startswith(second.url + "/files/media/"), "rebuilt, not kept"
            assert (await http.get(info["url"])).status_code == 200
            again = await user.wait_render("r1", wait=0)
            assert again["output"]["url"] == f"{second.url}/files/renders/r1.mp4"
            assert (await http.get(again["output"]["url"])).content[4:8] == b"ftyp"
            assert await user.balance() == balance
            await user.send("add the title 'Kept'")
            assert any("Kept" in json.dumps(t) for t in (await user.draft())["t"])


async def test_offline_credits_refill_instead_of_refusing(tmp_path: Path) -> None:
    with _keeping(tmp_path, starting_credits=150, refill_credits=True) as backend:
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as http:
            user = await User.create(http)
            await user.upload(("a.jpg", jpeg()))
            for _ in range(3):  # 300 credits of generations on a balance of 150
                await user.send("animate this image")
            assert (await user.balance())["available"] >= 0
            assert len((await user.state())["state"]["generated_media"]) == 3


def test_one_backend_owns_a_folder(tmp_path: Path) -> None:
    with _keeping(tmp_path):
        with pytest.raises(FolderBusy), owned(tmp_path):
            pass
        with pytest.raises(FolderBusy):
            prune_folder(tmp_path)
    with owned(tmp_path):
        pass


def test_an_unreadable_state_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    assert read_state(tmp_path) == {}
    assert (tmp_path / "state.bad").read_text() == "{not json"


def _session(sid: str, updated_at: float, file: str) -> dict[str, object]:
    media = {
        "id": file.split(".")[0], "name": "a.jpg", "kind": "image",
        "content_type": "image/jpeg", "bytes": 1, "file": file, "duration_ms": None,
    }  # fmt: skip
    return {
        "id": sid, "task_id": "t", "account_id": "acc", "task_name": "p", "language": "en",
        "draft": {"t": []}, "media": [media], "generated": [], "updated_at": updated_at,
    }  # fmt: skip


def test_prune_removes_idle_projects_their_files_and_unnamed_files(tmp_path: Path) -> None:
    now = time.time()
    old, fresh = now - (KEEP_DAYS + 1) * 86400, now - 86400
    for folder, name in [("media", "med_old.jpg"), ("media", "med_new.jpg"),
                         ("media", "stray.jpg"), ("renders", "r_old.mp4")]:  # fmt: skip
        path = tmp_path / folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 10)
        os.utime(path, (old, old))
    state = {
        "format": 1,
        "store": {"accounts": [], "issued": {},
                  "sessions": [_session("s_old", old, "med_old.jpg"),
                               _session("s_new", fresh, "med_new.jpg")]},
        "renders": [{"id": "r_old", "account_id": "acc", "session_id": "s_old",
                     "status": "completed", "error": None, "details": {}, "file": "r_old.mp4"}],
    }  # fmt: skip
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    dry = prune_folder(tmp_path, dry_run=True)
    assert (dry.sessions, dry.files) == (1, 3)
    assert (tmp_path / "media" / "med_old.jpg").exists(), "a dry run removes nothing"
    done = prune_folder(tmp_path)
    assert (done.sessions, done.files, done.bytes) == (1, 3, 30)
    kept = read_state(tmp_path)
    assert [s["id"] for s in kept["store"]["sessions"]] == ["s_new"] and kept["renders"] == []
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == ["med_new.jpg"]


def test_state_prune_tidies_the_offline_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    from nemo_mcp.offline import LOCAL_KEEP_DAYS

    assert LOCAL_KEEP_DAYS == KEEP_DAYS
    data = tmp_path / "cfg" / "local-backend"
    data.mkdir(parents=True)
    old = time.time() - (KEEP_DAYS + 1) * 86400
    state = {"format": 1, "store": {"sessions": [_session("s_old", old, "m.jpg")]}, "renders": []}
    (data / STATE_FILE).write_text(json.dumps(state))
    env = {"NEMO_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path), "PATH": ""}

    def state_command(*flags: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "nemo_mcp", "state", *flags],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout

    assert "stale: 1 project(s) idle for 30 days" in state_command()
    assert "removed: 1 project(s)" in state_command("--prune")
    assert read_state(data)["store"]["sessions"] == []
    with _keeping(data):
        assert "in use by `serve --local`" in state_command("--prune")


def test_the_command_keeps_state_in_its_data_dir_and_refuses_a_second_owner(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "nemo_mcp", "local-backend", "--keep-state"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "--keep-state needs --data-dir" in refused.stderr
    with _keeping(tmp_path) as running:
        second = subprocess.run(
            [*command, "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 1, second.stderr
        assert "another local backend keeps its state" in second.stderr
        assert (tmp_path / "backend.url").read_text().strip() == running.url


async def test_a_state_that_does_not_fit_is_set_aside_and_the_backend_starts(
    tmp_path: Path,
) -> None:
    broken = {"format": 1, "store": {"accounts": [{"id": "a", "unknown_field": 1}]}}
    (tmp_path / STATE_FILE).write_text(json.dumps(broken))
    with _keeping(tmp_path) as backend:
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as http:
            user = await User.create(http)
            assert (await user.balance())["available"] > 0
    assert json.loads((tmp_path / "state.bad").read_text()) == broken
    assert len(read_state(tmp_path)["store"]["accounts"]) == 1


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
async def test_the_saved_state_and_its_folder_are_the_owners_alone(tmp_path: Path) -> None:
    """state.json holds the tokens: 0600 in a 0700 folder, as the server's state.db; a folder and
    file an older version left open are tightened at start."""
    data = tmp_path / "local-backend"
    with _keeping(data) as backend:
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as http:
            user = await User.create(http)
            await _until_saved(data, user.token)
    assert (data.stat().st_mode & 0o777, (data / STATE_FILE).stat().st_mode & 0o777) == (
        0o700,
        0o600,
    )
    data.chmod(0o755)
    (data / STATE_FILE).chmod(0o644)
    with _keeping(data):
        modes = (data.stat().st_mode & 0o777, (data / STATE_FILE).stat().st_mode & 0o777)
    assert modes == (0o700, 0o600)
