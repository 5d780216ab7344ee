"""The one-time import of nemo-mcp 0.1's JSON records into the store."""

from __future__ import annotations

import json
from pathlib import Path

from nemo_mcp.store import RenderRecord, Scope, SessionRecord, SQLiteStore

API = "https://mega-api-prod.nemovideo.ai"


async def test_old_json_records_are_imported_once_and_the_files_removed(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(
        json.dumps({API: {"token": "nmv_usr_old_token_1", "expires_at": 2e9, "client_id": "c"}})
    )
    (tmp_path / "sessions.json").write_text(
        json.dumps({
            f"{API} dreamface-ai": {"session_id": "s1", "task_id": "t1", "bind_id": "b1",
                                    "created_at": 1.0},
            "garbage": {"session_id": "x"},
        })
    )  # fmt: skip
    (tmp_path / "renders.json").write_text(
        json.dumps({f"{API} s1": {"render_id": "r1", "session_id": "s1", "submitted_at": 3.0,
                                  "output_dir": "/v", "status": "submitted", "path": None}})
    )  # fmt: skip
    (tmp_path / "client_id").write_text("8f1f8f4e-0000-4000-8000-000000000000\n")
    store = SQLiteStore.in_folder(tmp_path)
    token = await store.token(API, "")
    assert token is not None and token.token == "nmv_usr_old_token_1"
    scope = Scope(API, "", "dreamface-ai")
    assert await store.session(scope) == SessionRecord("s1", "t1", "b1", "en", 1.0)
    assert await store.render(scope, "s1") == RenderRecord("r1", "s1", "", 3.0)
    await store.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("state.db")) == [
        "client_id"
    ]


async def test_damaged_json_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text("{not json")
    (tmp_path / "sessions.json").write_text('["a list"]')
    store = SQLiteStore.in_folder(tmp_path)
    assert await store.token(API, "") is None
    await store.close()
