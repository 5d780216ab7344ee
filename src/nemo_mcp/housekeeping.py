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

from nemo_mcp.offline import LOCAL_KEEP_DAYS as KEEP_DAYS
from nemo_mcp.offline import local_data_dir, prune_local
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


def _local(settings: Settings, say: Say, *, prune: bool) -> None:
    folder = local_data_dir(settings)
    if not folder.is_dir():
        return
    found = prune_local(settings, dry_run=not prune)
    if found is None:
        say(f"offline: {folder} is in use by `serve --local`; it prunes itself at its next start")
        return
    projects, files, size = found
    verb = "removed" if prune else "stale"
    say(
        f"offline: {folder}: {verb}: {projects} project(s) idle for {KEEP_DAYS} days, "
        f"{files} unused file(s) ({size / 1_048_576:.1f} MB)"
    )


async def run_state(settings: Settings, say: Say, *, prune: bool) -> int:
    store = SQLiteStore.in_folder(settings.config_dir)
    try:
        say(f"state: {store.path}")
        found = await store.prune(Retention(), dry_run=not prune)
        verb = "removed" if prune else "stale"
        say(f"{verb}: {_describe(found)}")
        _local(settings, say, prune=prune)
        if not prune and found.total:
            say("run `nemo-mcp state --prune` to remove them")
    finally:
        await store.close()
    return 0
