from __future__ import annotations

import json
import stat
import time
import uuid
from pathlib import Path

from nemo_mcp.store import CachedToken, RenderRecord, SessionRecord, Store
from tests.conftest import SENTINEL_TOKEN


def test_client_id_is_a_plain_shared_uuid_file(tmp_path: Path) -> None:
    store = Store(tmp_path, "https://api")
    assert store.client_id() is None
    cid = store.new_client_id()
    assert uuid.UUID(cid)
    assert (tmp_path / "client_id").read_text().strip() == cid
    assert Store(tmp_path, "http://elsewhere").client_id() == cid


def test_a_damaged_client_id_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "client_id").write_text("not-a-uuid")
    assert Store(tmp_path, "https://api").client_id() is None


def test_token_cache_is_0600_and_scoped_to_the_api(tmp_path: Path) -> None:
    cloud, local = Store(tmp_path, "https://api"), Store(tmp_path, "http://127.0.0.1:5")
    cloud.save_token(CachedToken(SENTINEL_TOKEN, time.time() + 100, "cid"))
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
    assert cloud.token() is not None and cloud.token().token == SENTINEL_TOKEN  # type: ignore[union-attr]
    assert local.token() is None
    assert SENTINEL_TOKEN not in repr(cloud.token())
    cloud.save_token(None)
    assert cloud.token() is None


def test_token_validity_has_a_margin() -> None:
    now = 1000.0
    assert CachedToken("t", now + 301, "c").valid(now)
    assert not CachedToken("t", now + 299, "c").valid(now)


def test_sessions_per_skill_and_renders_survive_a_new_store(tmp_path: Path) -> None:
    store = Store(tmp_path, "https://api")
    store.save_session("a", SessionRecord("s1", "t1"))
    store.save_render(RenderRecord("render_1", "s1", 5.0, str(tmp_path)))
    again = Store(tmp_path, "https://api")
    assert again.session("a") == SessionRecord("s1", "t1")
    assert again.session("b") is None
    assert again.render("s1") == RenderRecord("render_1", "s1", 5.0, str(tmp_path))
    again.forget_render("s1")
    assert store.render("s1") is None


def test_damaged_files_read_as_empty(tmp_path: Path) -> None:
    for name in ("tokens.json", "sessions.json", "renders.json"):
        (tmp_path / name).write_text("{broken")
    store = Store(tmp_path, "https://api")
    assert store.token() is None and store.session("a") is None and store.render("s") is None
    (tmp_path / "sessions.json").write_text(json.dumps({"https://api a": {"wrong": 1}}))
    assert store.session("a") is None


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = Store(tmp_path, "https://api")
    for i in range(5):
        store.save_session("a", SessionRecord(f"s{i}", "t"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions.json"]
