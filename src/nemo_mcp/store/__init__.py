"""What the server remembers: tokens, sessions, render records, job records and message hand-offs.

``StateStore`` is the interface the workflows use; ``SQLiteStore`` keeps it in the config folder
(``state.db``) for a stdio server. ``client_id`` stays the plain file shared with the vendor's
skills. docs/STATE.md says what is kept where, for how long, and what survives what.
"""

from __future__ import annotations

from nemo_mcp.store.base import Housekeeping, Retention, StateStore
from nemo_mcp.store.client_id import ensure_client_id, read_client_id, replace_client_id
from nemo_mcp.store.records import (
    JobKind,
    JobRecord,
    JobState,
    RenderRecord,
    Scope,
    SessionRecord,
    TokenRecord,
)
from nemo_mcp.store.sqlite import SQLiteStore

__all__ = [
    "Housekeeping",
    "JobKind",
    "JobRecord",
    "JobState",
    "RenderRecord",
    "Retention",
    "SQLiteStore",
    "Scope",
    "SessionRecord",
    "StateStore",
    "TokenRecord",
    "ensure_client_id",
    "read_client_id",
    "replace_client_id",
]
