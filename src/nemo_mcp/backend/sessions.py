"""This skill's project on the backend: made on first need, remembered, replaced when lost.

A session is created lazily, in the language of the user (``nemo_mcp.language``): the first words
the user sent decide it, even when they were answered here and the session came later (an upload
asked for in Chinese creates it before any edit). It is kept in the
store so a restarted server continues the same project; when several processes of one skill start
at once only one creates it. A 1002 (session not found) replaces it, once, and leaves a notice for
the next answer ("the previous project had expired"). The registration link's id (``bind_id``) is
learned from the create-session or the state answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio

from nemo_mcp.errors import ServerFault
from nemo_mcp.language import choose_language
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, SessionRecord, StateStore
from nemo_mcp.store.lease import single_flight

log = logging.getLogger(__name__)

SESSION_PATH = "/api/tasks/me/with-session/nemo_agent"
EXPIRED_NOTICE = "The previous project had expired on the backend, so a new one was started."
LEASE_S = 90.0

CreateCall = Callable[[dict[str, str]], Awaitable[object]]


class Sessions:
    """The session of one scope (backend, user, skill)."""

    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        scope: Scope,
        create: CreateCall,
        *,
        holder: str,
    ) -> None:
        self._settings = settings
        self._store = store
        self._scope = scope
        self._create_call = create
        self._holder = holder
        self._record: SessionRecord | None = None
        self._lock = anyio.Lock()
        self._notices: list[str] = []
        self._first_words: str | None = None

    @property
    def known(self) -> SessionRecord | None:
        """The session if this process has one already (no request is made)."""
        return self._record

    def heard(self, words: str) -> None:
        """The user's words, whatever they ask: the first ones choose the language of a session
        created later."""
        if self._first_words is None and words.strip():
            self._first_words = words

    async def current(self, first_message: str | None = None) -> SessionRecord:
        """The session, created when there is none, in the language of the first words heard
        (else of ``first_message``, the message that needs it)."""
        if self._record is not None:
            return self._record
        async with self._lock:
            if self._record is None:
                words = self._first_words or first_message
                self._record = await self._shared(stale=None, first_message=words)
            return self._record

    async def replace(self, stale: SessionRecord) -> SessionRecord:
        """After a 1002 for ``stale``: a new session (unless another task or process made one)."""
        async with self._lock:
            if self._record is not None and self._record.session_id != stale.session_id:
                return self._record
            self._record = await self._shared(stale=stale, first_message=None)
            self._notices.append(EXPIRED_NOTICE)
            return self._record

    async def remember_bind_id(self, bind_id: str) -> None:
        record = self._record
        if record is not None and record.bind_id != bind_id:
            self._record = replace(record, bind_id=bind_id)
            await self._store.save_session(self._scope, self._record)

    def take_notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    async def _shared(
        self, *, stale: SessionRecord | None, first_message: str | None
    ) -> SessionRecord:
        async def find() -> SessionRecord | None:
            record = await self._store.session(self._scope)
            if record is None or (stale is not None and record.session_id == stale.session_id):
                return None
            return record

        async def make() -> SessionRecord:
            kept = stale.language if stale is not None else None
            record = await self._create(first_message, kept)
            await self._store.save_session(self._scope, record)
            return record

        name = f"session {self._scope.backend} {self._scope.user} {self._scope.skill}"
        return await single_flight(
            self._store, name, self._holder, find=find, make=make, ttl=LEASE_S
        )

    async def _create(self, first_message: str | None, kept: str | None) -> SessionRecord:
        """A new session; a replacement keeps the language of the one it replaces."""
        language = kept or choose_language(
            self._settings.language, first_message, self._settings.locale
        )
        data = await self._create_call({"task_name": "project", "language": language})
        if not isinstance(data, dict) or not data.get("session_id"):
            raise ServerFault("the new-session answer had no session id")
        log.info("started a new backend session (language %s)", language)
        return SessionRecord(
            session_id=str(data["session_id"]),
            task_id=str(data.get("task_id") or ""),
            bind_id=str(data["bind_id"]) if data.get("bind_id") else None,
            language=language,
            created_at=time.time(),
        )
