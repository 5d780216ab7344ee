"""A one-time import of the JSON records nemo-mcp 0.1 kept in the config folder.

``tokens.json`` (keyed by API URL), ``sessions.json`` and ``renders.json`` (keyed by
``"<API URL> <skill or session id>"``) become rows of the first schema, inside the migration's
transaction; a damaged file or entry is skipped, never fatal. Once the schema version is written
the files are removed (the token cache is a secret; a second copy of it should not linger).
``client_id`` is not one of them: it stays the plain file shared with the vendor's skills.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TOKEN_FILE = "tokens.json"
SESSION_FILE = "sessions.json"
RENDER_FILE = "renders.json"
FILES = (TOKEN_FILE, SESSION_FILE, RENDER_FILE)


def _entries(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        yield from ((k, v) for k, v in data.items() if isinstance(k, str) and isinstance(v, dict))


def _split(key: str) -> tuple[str, str] | None:
    backend, sep, rest = key.rpartition(" ")
    return (backend, rest) if sep and backend and rest else None


def import_json(db: sqlite3.Connection, config_dir: Path) -> None:
    """Copy the old records into the new tables (called inside the migration's transaction)."""
    for backend, v in _entries(config_dir / TOKEN_FILE):
        with contextlib.suppress(KeyError, TypeError, ValueError, sqlite3.Error):
            db.execute(
                "INSERT OR IGNORE INTO tokens VALUES (?, '', ?, ?, ?)",
                (backend, str(v["token"]), float(v["expires_at"]), str(v["client_id"])),
            )
    for key, v in _entries(config_dir / SESSION_FILE):
        if (parts := _split(key)) is None:
            continue
        with contextlib.suppress(KeyError, TypeError, ValueError, sqlite3.Error):
            db.execute(
                "INSERT OR IGNORE INTO sessions VALUES (?, '', ?, ?, ?, ?, 'en', ?)",
                (parts[0], parts[1], str(v["session_id"]), str(v.get("task_id") or ""),
                 v.get("bind_id"), float(v.get("created_at") or 0)),
            )  # fmt: skip
    skills = {
        row["session_id"]: row["skill"]
        for row in db.execute("SELECT session_id, skill FROM sessions")
    }
    for key, v in _entries(config_dir / RENDER_FILE):
        parts = _split(key)
        if parts is None or parts[1] not in skills:
            continue
        with contextlib.suppress(KeyError, TypeError, ValueError, sqlite3.Error):
            # The old records did not know the draft; an empty digest resumes the render as is.
            db.execute(
                "INSERT OR IGNORE INTO renders "
                "VALUES (?, '', ?, ?, ?, '', ?, 'submitted', NULL, 0)",
                (parts[0], skills[parts[1]], parts[1], str(v["render_id"]),
                 float(v["submitted_at"])),
            )  # fmt: skip


def remove_imported(config_dir: Path) -> None:
    """Delete the old files once their records are in the store (the schema says so)."""
    for name in FILES:
        with contextlib.suppress(OSError):
            (config_dir / name).unlink()
