"""The one line a worker logs when it is ready: where it listens, what it stores in, how much
work it may take on. An operator reads it first when something is wrong; it names no secret
(the database's password and user are left out)."""

from __future__ import annotations

from pathlib import Path

from nemo_mcp.settings import Settings


def store_words(settings: Settings, sqlite_file: Path) -> str:
    """``PostgreSQL db.internal:5432/nemo`` or ``SQLite /path/state.db``; never a password."""
    if not settings.database_url:
        return f"SQLite {sqlite_file}"
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(settings.database_url)
    except Exception:
        return "PostgreSQL (the address does not parse)"
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    return f"PostgreSQL {host}{port}/{info.get('dbname') or info.get('user') or ''}"


def ready_line(skill: str, address: str, store: str, concurrency: int, settings: Settings) -> str:
    """``concurrency`` 0: no job queue (SQLite, one worker), jobs run as they come."""
    per_user = f"{settings.user_jobs} per user" if settings.user_jobs else "no limit per user"
    jobs = f"up to {concurrency} jobs at once on this worker" if concurrency else "jobs run here"
    return f"nemo-mcp serves {skill} at {address}/mcp; store: {store}; {jobs} ({per_user})"
