"""``nemo-mcp state``: what the store holds, and ``--prune`` to remove what is stale.

Pruning follows ``store.Retention`` (docs/STATE.md): finished jobs a week after they were
reported (a month if never), jobs stuck for a day (their process is gone), render records after
three days, expired tokens and leases. It is safe while servers run: a live job heartbeats, so it
is never stuck, and a result still waiting to be told is kept for a month.

The offline backend's folder (``serve --local``) is pruned by its own rule (``nemo_local.persist``:
projects idle for 30 days, with their uploads and renders, and files no record names); a running
``serve --local`` prunes it at its next start instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nemo_mcp.offline import local_data_dir
from nemo_mcp.settings import Settings
from nemo_mcp.store import Housekeeping, Retention, SQLiteStore

Say = Callable[[str], None]


def _describe(counts: Housekeeping) -> str:
    parts = [
        f"{counts.jobs} finished job(s) past their time",
        f"{counts.stuck_jobs} stuck job(s)",
        f"{counts.renders} old render record(s)",
        f"{counts.tokens} expired token(s)",
        f"{counts.leases} expired lease(s)",
    ]
    return ", ".join(parts)


def _local(data_dir: Path, say: Say, *, prune: bool) -> None:
    from nemo_local.persist import KEEP_DAYS, FolderBusy, prune_folder

    if not data_dir.is_dir():
        return
    try:
        found = prune_folder(data_dir, dry_run=not prune)
    except FolderBusy:
        say(f"offline: {data_dir} is in use by `serve --local`; it prunes itself at its next start")
        return
    verb = "removed" if prune else "stale"
    say(
        f"offline: {data_dir}: {verb}: {found.sessions} project(s) idle for {KEEP_DAYS} days, "
        f"{found.files} unused file(s) ({found.bytes / 1_048_576:.1f} MB)"
    )


async def run_state(settings: Settings, say: Say, *, prune: bool) -> int:
    store = SQLiteStore.in_folder(settings.config_dir)
    try:
        say(f"state: {store.path}")
        found = await store.prune(Retention(), dry_run=not prune)
        verb = "removed" if prune else "stale"
        say(f"{verb}: {_describe(found)}")
        _local(local_data_dir(settings), say, prune=prune)
        if not prune and found.total:
            say("run `nemo-mcp state --prune` to remove them")
    finally:
        await store.close()
    return 0
