"""The calls of the backend contract, each with its recovery rules. No HTTP above this module.

It composes the parts that each own one job: ``ApiHttp`` (requests, the envelope, httpx errors),
``Credentials`` (client id, token), ``Sessions`` (the skill's project), ``read_turn`` (a message's
stream). The rules it applies:

- A request refused before anything ran is tried once more after recovering (``refusals``): a
  1001 with an anonymous token renews it; a 429 waits ``NEMO_RETRY_AFTER``. This holds for a
  message too, as long as its stream never opened: nothing ran and nothing was charged.
- A 1002 replaces the session and repeats the call where that is safe (state, uploads, links);
  a message is never repeated: it is reported, and the caller recovers from state.
- A message is recorded as handed to the backend (``before_send``) before it first goes out.
- Errors are made with their context (``ErrorContext``): whether the token was anonymous, the
  registration link, the accepted types and limits.

Downloads are not written here: ``open_download`` hands the open answer to ``nemo_mcp.downloads``,
which owns putting files on disk. The token only ever goes to the API's own origin.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import anyio

from nemo_mcp.attribution import attribution_headers
from nemo_mcp.backend.credentials import Credentials, Sleep
from nemo_mcp.backend.http import ApiHttp, Phase
from nemo_mcp.backend.models import Credits, JsonObject, RenderJob
from nemo_mcp.backend.multipart import ByteProgress, FilePart
from nemo_mcp.backend.refusals import Recovery, retry_refused
from nemo_mcp.backend.sessions import SESSION_PATH, Sessions
from nemo_mcp.backend.sse import Turn
from nemo_mcp.backend.stream import SignalHandler, read_turn
from nemo_mcp.deployment import Deployment
from nemo_mcp.errors import (
    BackendError,
    ErrorContext,
    RateLimited,
    SessionNotFound,
    TokenInvalid,
)
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import Scope, SessionRecord, StateStore
from nemo_mcp.store.lease import process_holder

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

APP = "nemo_agent"
CLAIM_PATH = "/api/auth/claim-token"
CREDITS_PATH = "/api/credits/balance/simple"
MESSAGE_PATH = "/run_sse"
RENDER_PATH = "/api/render/proxy/lambda"
PACKAGE_DIR = Path(__file__).resolve().parents[1]

T = TypeVar("T")
BeforeSend = Callable[[str], Awaitable[None]]


def upload_path(session_id: str) -> str:
    return f"/api/upload-video/{APP}/me/{quote(session_id, safe='')}"


def state_path(session_id: str) -> str:
    return f"/api/state/{APP}/me/{quote(session_id, safe='')}/latest"


def picture_path(session_id: str) -> str:
    """The embedded backend's own call (``nemo_local``'s draft picture); the cloud has none."""
    return f"/api/local/draft-picture/{quote(session_id, safe='')}"


class BackendClient:
    """One backend, one user, one skill. Use as ``async with BackendClient(...) as client``."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        store: StateStore,
        *,
        deployment: Deployment | None = None,
        user: str = "",
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        install_path: Path = PACKAGE_DIR,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.scope = Scope(settings.backend_id, user, manifest.name)
        headers = attribution_headers(manifest, settings.skill_source, install_path)
        self.deployment = deployment or Deployment.of(settings)
        self.http = ApiHttp(
            settings, headers, transport=transport, local=self.deployment.backend_is_local,
            context=self._error_context,
        )  # fmt: skip
        self.credentials = Credentials(
            settings, store, self.http, backend_id=settings.backend_id,
            holder=process_holder(), user=user, token=token, sleep=sleep,
        )  # fmt: skip
        self.sessions = Sessions(
            settings, store, self.scope, self._create_session, holder=process_holder()
        )

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def anonymous(self) -> bool:
        return self.credentials.anonymous

    def _error_context(self) -> ErrorContext:
        """What this client's errors are said with: the token's kind, the links, the types."""
        return ErrorContext(
            anonymous=self.anonymous,
            local=self.deployment.backend_is_local,
            register_link=self.register_link(),
            accepted=self.manifest.accepted_types,
            limit_mb=self.manifest.max_upload_mb,
        )

    # -- the rules every call follows ------------------------------------------------------
    def _recoveries(self, used: Callable[[], str]) -> dict[type[BackendError], Recovery]:
        recoveries: dict[type[BackendError], Recovery] = {RateLimited: self.credentials.backoff}
        if self.anonymous:

            async def renew(_: BackendError) -> None:
                await self.credentials.renew(used())

            recoveries[TokenInvalid] = renew
        return recoveries

    async def _authorized(self, send: Callable[[str], Awaitable[T]]) -> T:
        """``send(token)``, with the refusal rules, and errors given their context."""
        used = ""

        async def attempt() -> T:
            nonlocal used
            used = await self.credentials.token()
            return await send(used)

        return await retry_refused(attempt, self._recoveries(lambda: used))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: FilePart | None = None,
        bare_ok: bool = False,
        about: ErrorContext | None = None,
    ) -> Any:
        async def send(token: str) -> Any:
            request = self.http.build(method, path, token=token, json=json, body=body)
            return await self.http.call(request, bare_ok=bare_ok, about=about)

        return await self._authorized(send)

    async def _in_session(self, call: Callable[[SessionRecord], Awaitable[T]]) -> T:
        """``call`` in the session; after a 1002, once more in a new one (only for safe calls)."""
        record = await self.sessions.current()
        try:
            return await call(record)
        except SessionNotFound:
            return await call(await self.sessions.replace(record))

    async def _create_session(self, body: dict[str, str]) -> object:
        return await self._call("POST", SESSION_PATH, json=body)

    # -- simple calls ----------------------------------------------------------------------
    async def credits(self) -> Credits:
        return Credits.from_answer(await self._call("GET", CREDITS_PATH))

    async def state(self) -> JsonObject:
        """The session's state (``draft``, ``video_infos``, ``canvas_config`` ...)."""

        async def call(record: SessionRecord) -> JsonObject:
            data = await self._call("GET", state_path(record.session_id))
            data = data if isinstance(data, dict) else {}
            if bind_id := data.get("bind_id"):
                await self.sessions.remember_bind_id(str(bind_id))
            state = data.get("state", data)
            return state if isinstance(state, dict) else {}

        return await self._in_session(call)

    async def draft_picture(self) -> bytes | None:
        """Offline only: the embedded backend's contact sheet of the session's draft (a JPEG,
        one frame per segment with its titles), or None when the draft shows nothing or the
        picture can't be made. The cloud has no such call: it is never asked there."""
        if not self.deployment.backend_is_local:
            return None

        async def call(record: SessionRecord) -> bytes | None:
            async def send(token: str) -> bytes | None:
                request = self.http.build("GET", picture_path(record.session_id), token=token)
                async with self.http.open(request, Phase.CALL) as response:
                    if response.status_code != 200:
                        return None
                    return await response.aread()

            return await self._authorized(send)

        return await self._in_session(call)

    async def project_link(self) -> str | None:
        """A browser link to the project: the claim link when the backend grants one, else the
        task link (it needs a signed-in browser). Never a token in it; none without accounts."""
        if not self.deployment.has_account:
            return None
        record = await self.sessions.current()
        try:
            data = await self._call(
                "POST",
                CLAIM_PATH,
                json={"task_id": record.task_id, "session_id": record.session_id},
            )
        except BackendError as exc:
            log.info("no claim link (%s); linking the task instead", type(exc).__name__)
            data = None
        claim = data.get("claim_token") if isinstance(data, dict) else None
        web = self.settings.web_url
        if isinstance(claim, str) and claim:
            return f"{web}/workspace/claim?ct={quote(claim, safe='')}"
        task, session = quote(record.task_id, safe=""), quote(record.session_id, safe="")
        return f"{web}/workspace/task/{task}?session={session}" if task else None

    def register_link(self) -> str | None:
        """``<web>?bind=<id>`` for out-of-credits advice, once a session is known."""
        record = self.sessions.known
        if record is None or not self.deployment.has_account:
            return None
        bind = record.bind_id or record.task_id
        return f"{self.settings.web_url}?bind={quote(bind, safe='')}" if bind else None

    # -- uploads ---------------------------------------------------------------------------
    async def upload_file(
        self, path: Path, *, filename: str, content_type: str, progress: ByteProgress | None = None
    ) -> Any:
        """Stream one local file as multipart field ``files``; the backend's answer. A refusal
        as too large says the file's size: it passed our limit, so the backend's is lower."""

        async def call(record: SessionRecord) -> Any:
            part = FilePart(path, filename, content_type, progress)
            about = replace(self._error_context(), limit_mb=None, size_bytes=path.stat().st_size)
            return await self._call("POST", upload_path(record.session_id), body=part, about=about)

        return await self._in_session(call)

    async def upload_urls(self, urls: list[str]) -> Any:
        async def call(record: SessionRecord) -> Any:
            body = {"urls": urls, "source_type": "url"}
            return await self._call("POST", upload_path(record.session_id), json=body)

        return await self._in_session(call)

    # -- messages --------------------------------------------------------------------------
    async def send_message(
        self,
        text: str,
        on_signal: SignalHandler | None = None,
        *,
        before_send: BeforeSend | None = None,
    ) -> Turn:
        """Send one message and read its stream to the end.

        ``before_send(session_id)`` runs once, right before the message first goes out (it
        records the hand-off, and may refuse). Raises ``StreamDropped`` / ``StreamTimedOut``
        with the text so far when the stream does not end cleanly: the caller recovers by
        reading state, never by sending again.
        """
        record = await self.sessions.current(first_message=text)
        body = {
            "app_name": APP,
            "user_id": "me",
            "session_id": record.session_id,
            "new_message": {"parts": [{"text": text}]},
            "streaming": True,
        }
        import httpx

        s = self.settings
        timeout = httpx.Timeout(
            s.request_timeout, connect=s.connect_timeout, read=max(s.heartbeat_timeout, 1.0)
        )
        handed = before_send is None

        async def send(token: str) -> Turn:
            nonlocal handed
            if not handed:
                await before_send(record.session_id)  # type: ignore[misc]
                handed = True
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            request = self.http.build(
                "POST", MESSAGE_PATH, token=token, json=body, headers=headers, timeout=timeout
            )
            async with self.http.open(request, Phase.MESSAGE) as response:
                content_type = response.headers.get("content-type", "")
                if response.status_code == 200 and "text/event-stream" in content_type:
                    return await read_turn(
                        response, on_signal, heartbeat_timeout=s.heartbeat_timeout,
                        whole_timeout=s.sse_timeout, local=self.deployment.backend_is_local,
                    )  # fmt: skip
                raise await self.http.refusal(response, Phase.MESSAGE)

        try:
            return await self._authorized(send)
        except SessionNotFound:
            await self.sessions.replace(record)
            raise

    # -- renders ---------------------------------------------------------------------------
    async def submit_render(self, draft: object, render_id: str, session_id: str) -> RenderJob:
        body = {
            "id": render_id,
            "sessionId": session_id,
            "draft": draft,
            "output": {"format": "mp4", "quality": "high"},
        }
        data = await self._call("POST", RENDER_PATH, json=body, bare_ok=True)
        return RenderJob.from_answer(render_id, data)

    async def render_status(self, render_id: str) -> RenderJob:
        data = await self._call("GET", f"{RENDER_PATH}/{quote(render_id, safe='')}", bare_ok=True)
        return RenderJob.from_answer(render_id, data)

    def fallback_download_url(self, render_id: str) -> str:
        return f"/api/render/proxy/{quote(render_id, safe='')}/download"

    @asynccontextmanager
    async def open_download(self, url: str) -> AsyncIterator[httpx.Response]:
        """The answer to a GET of ``url``, open for streaming; an error unless it is a 200.

        Credentials go only to the API's own origin; a link elsewhere gets none."""
        token = await self.credentials.token()
        request = self.http.build("GET", url, token=token)
        async with self.http.open(request, Phase.DOWNLOAD) as response:
            if response.status_code != 200:
                raise await self.http.refusal(response, Phase.DOWNLOAD)
            yield response

    def take_notices(self) -> list[str]:
        return self.sessions.take_notices()

    def with_notices(self, reply: str) -> str:
        """``reply`` with any notice for the user first ("the previous project had expired")."""
        notices = self.take_notices()
        return "\n".join([*notices, reply]) if notices else reply
