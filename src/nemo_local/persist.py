"""Keeping a local backend's bookkeeping across restarts (``serve --local`` keeps the project).

Accounts and tokens, sessions (drafts, uploads, generated clips) and finished renders live in one
JSON file, ``<data_dir>/state.json``, rewritten whole and atomically (a temporary file, fsync,
rename) after every change. JSON rather than SQLite: the state is small (one user's projects),
changes a few times a minute, is always read whole at start, and a person can read it. One
backend at a time owns a data folder (an advisory lock on ``<data_dir>/owner.lock``), so two
writers never interleave. Nothing in the file holds a port: file URLs are built per request from
the address the backend answers on, so a restart on another port finds everything. The file holds
the account tokens, so it and its folder are the owner's alone (0600 and 0700, as the MCP server's
``state.db``), tightened at start when an older version left them open.

Pruning (at every start of a keeping backend, and ``nemo-mcp state --prune``): a session nobody
used for ``KEEP_DAYS`` days goes, with its uploads and renders; files under ``media/`` and
``renders/`` that no record names (left by a crash or by an older version) go once a day old.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
LOCK_FILE = "owner.lock"
URL_FILE = "backend.url"
"""Written by the owning backend while it runs: where a second ``serve --local`` finds it."""
FORMAT = 1
KEEP_DAYS = 30
ORPHAN_GRACE_S = 24 * 3600.0
DAY_S = 24 * 3600.0
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def write_atomic(path: Path, data: dict[str, Any] | bytes) -> None:
    """Replace ``path`` with ``data`` (JSON, or already ``encode``d); a reader sees the old file
    or the new one. Safe from several threads: each writes a temporary file of its own."""
    payload = data if isinstance(data, bytes) else encode(data)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def private_folder(data_dir: Path) -> None:
    """Create ``data_dir`` for the owner only, or make an existing one so (with its state file):
    the state holds tokens, ``media/`` the user's photos."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    for path, mode in ((data_dir, PRIVATE_FOLDER), (data_dir / STATE_FILE, PRIVATE_FILE)):
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)


def set_aside(data_dir: Path) -> None:
    """Keep a state file that cannot be used as ``state.bad`` (for a person to look at)."""
    path = data_dir / STATE_FILE
    with contextlib.suppress(OSError):
        path.replace(path.with_suffix(".bad"))


def read_state(data_dir: Path) -> dict[str, Any]:
    """The saved state, or an empty one; an unreadable file is set aside (``.bad``), not lost."""
    path = data_dir / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("local backend state %s is unreadable (%s); starting afresh", path, exc)
        set_aside(data_dir)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        log.warning("local backend state %s has an unknown format; starting afresh", path)
        return {}
    return data


class FolderBusy(Exception):
    """Another local backend keeps its state in this folder."""


def _try_lock(fd: int) -> bool:
    """An exclusive, non-blocking lock on the open file ``fd`` (released when it closes)."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def owned(data_dir: Path) -> Iterator[None]:
    """Hold the folder's lock while the block runs; ``FolderBusy`` if another process has it."""
    private_folder(data_dir)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        if not _try_lock(fd):
            raise FolderBusy(str(data_dir))
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Pruned:
    sessions: int = 0
    files: int = 0
    bytes: int = 0

    @property
    def total(self) -> int:
        return self.sessions + self.files


def prune_state(
    data: dict[str, Any], now: float, keep_days: float = KEEP_DAYS
) -> tuple[dict[str, Any], int]:
    """``data`` without its sessions idle past ``keep_days`` (and their media and renders). Pure."""
    if not data:
        return data, 0
    cutoff = now - keep_days * DAY_S
    store = data.get("store", {})
    sessions = store.get("sessions", [])
    kept = [s for s in sessions if float(s.get("updated_at", now)) >= cutoff]
    live = {s["id"] for s in kept}
    renders = [r for r in data.get("renders", []) if r.get("session_id") in live]
    new_store = {**store, "sessions": kept}
    return {**data, "store": new_store, "renders": renders}, len(sessions) - len(kept)


def named_files(data: dict[str, Any]) -> set[str]:
    """``media/<name>`` and ``renders/<name>`` of every file a record names."""
    names = {
        f"media/{m['file']}"
        for s in data.get("store", {}).get("sessions", [])
        for m in s.get("media", [])
    }
    names |= {f"renders/{r['file']}" for r in data.get("renders", []) if r.get("file")}
    return names


def remove_orphans(
    data_dir: Path, keep: set[str], now: float, *, dry_run: bool = False
) -> tuple[int, int]:
    """Delete files under ``media/`` and ``renders/`` no record names, once a day old."""
    count = size = 0
    for folder in ("media", "renders"):
        directory = data_dir / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            with contextlib.suppress(OSError):
                stat = path.stat()
                if (
                    path.is_file()
                    and f"{folder}/{path.name}" not in keep
                    and stat.st_mtime < now - ORPHAN_GRACE_S
                ):
                    if not dry_run:
                        path.unlink()
                    count, size = count + 1, size + stat.st_size
    return count, size


def prune_folder(data_dir: Path, *, now: float | None = None, dry_run: bool = False) -> Pruned:
    """Apply the pruning rule to a folder no backend is running on (``FolderBusy`` otherwise)."""
    now = time.time() if now is None else now
    if not data_dir.is_dir():
        return Pruned()
    with owned(data_dir):
        before = read_state(data_dir)
        after, sessions = prune_state(before, now)
        if sessions and not dry_run:
            write_atomic(data_dir / STATE_FILE, after)
        files, size = remove_orphans(data_dir, named_files(after), now, dry_run=dry_run)
    return Pruned(sessions=sessions, files=files, bytes=size)
