"""The one client for the NemoVideo backend: auth, sessions, messages, uploads and renders.

One ``httpx.AsyncClient`` per process. Callers never see HTTP: they get data or a typed error
from ``nemo_mcp.errors``. The recovery rules live here, not in callers:

- 1001 (token invalid): with an anonymous token, obtain a new one with the same client id and
  retry once; a user's own ``NEMO_TOKEN`` is never replaced.
- 1002 (session not found): create a new session (remembered per skill) and retry once where
  that is safe (state, uploads, links); never for a message or a render of the old draft.
- HTTP 400 on the anonymous-token call (missing client id): new client id, persisted, retry once.
- 429: wait ``NEMO_RETRY_AFTER`` seconds and retry once, then report.
- A message is never sent twice once its stream has opened: a dropped stream is reported as
  ``StreamDropped`` for the caller to recover by reading state. The 1001 and 429 retries apply
  to a message only when the backend refused it *before* opening the stream, which means it did
  not run and charged nothing.

The token only ever travels in the ``Authorization`` header to the API's own origin (never in a
URL, a log line or an error), and downloads from other hosts get no credentials at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urljoin

import anyio
import httpx

from nemo_mcp import __version__
from nemo_mcp.attribution import attribution_headers
from nemo_mcp.backend.envelope import error_for, read_answer
from nemo_mcp.backend.models import Credits, RenderJob
from nemo_mcp.backend.multipart import ByteProgress, FilePart
from nemo_mcp.backend.sse import Heartbeat, Signal, StreamParser, Turn
from nemo_mcp.errors import (
    BackendError,
    BackendUnreachable,
    ClientIdMissing,
    RateLimited,
    ServerFault,
    SessionNotFound,
    StreamDropped,
    StreamTimedOut,
    TokenInvalid,
)
from nemo_mcp.files import place_new
from nemo_mcp.manifests import Manifest
from nemo_mcp.redact import register_secret
from nemo_mcp.settings import Settings
from nemo_mcp.store import CachedToken, SessionRecord, Store

log = logging.getLogger(__name__)

APP = "nemo_agent"
TOKEN_PATH = "/api/auth/anonymous-token"
SESSION_PATH = f"/api/tasks/me/with-session/{APP}"
CLAIM_PATH = "/api/auth/claim-token"
CREDITS_PATH = "/api/credits/balance/simple"
MESSAGE_PATH = "/run_sse"
RENDER_PATH = "/api/render/proxy/lambda"
TOKEN_LIFETIME = 7 * 24 * 3600.0
CHUNK = 1024 * 1024

T = TypeVar("T")
SignalHandler = Callable[[Signal], Awaitable[None]]


def upload_path(session_id: str) -> str:
    return f"/api/upload-video/{APP}/me/{quote(session_id, safe='')}"


def state_path(session_id: str) -> str:
    return f"/api/state/{APP}/me/{quote(session_id, safe='')}/latest"


class BackendClient:
    """Async client; use as ``async with BackendClient(...) as client``."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        *,
        store: Store | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        install_path: Path | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        language: str = "en",
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.store = store or Store(settings.config_dir, settings.api_url)
        self.language = language
        self.attribution = attribution_headers(
            manifest,
            os.environ if environ is None else environ,
            install_path or Path(__file__).resolve().parents[1],
        )
        self.notices: list[str] = []
        self._sleep = sleep
        self._timeout = httpx.Timeout(settings.request_timeout, connect=settings.connect_timeout)
        self._http = httpx.AsyncClient(
            base_url=settings.api_url,
            transport=transport,
            timeout=self._timeout,
            headers={"User-Agent": f"nemo-mcp/{__version__}"},
            follow_redirects=False,
        )
        self._origin = httpx.URL(settings.api_url)
        self._token: CachedToken | None = None
        self._session: SessionRecord | None = None
        self._token_lock = anyio.Lock()
        self._session_lock = anyio.Lock()
        if settings.token:
            register_secret(settings.token)

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def anonymous(self) -> bool:
        """True when working on an anonymous token (no ``NEMO_TOKEN``)."""
        return self.settings.token is None

    # -- plumbing ------------------------------------------------------------------------
    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            return await self._http.send(request, stream=stream)
        except httpx.TimeoutException:
            raise BackendUnreachable("the backend did not answer in time") from None
        except httpx.TransportError as exc:
            raise BackendUnreachable(
                f"could not reach the backend ({type(exc).__name__})"
            ) from None

    async def _headers(self, auth: bool) -> dict[str, str]:
        headers = dict(self.attribution)
        if auth:
            headers["Authorization"] = f"Bearer {await self.token()}"
        return headers

    async def _backoff(self) -> None:
        log.info("rate limited; waiting %.1f s before the one retry", self.settings.retry_after)
        await self._sleep(self.settings.retry_after)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: FilePart | None = None,
        bare_ok: bool = False,
        timeout: httpx.Timeout | None = None,
    ) -> Any:
        """One API call with the 1001 and 429 recovery rules."""
        renewed = backed_off = False
        while True:
            headers = await self._headers(auth=True)
            if body is not None:
                headers.update(body.headers)
            request = self._http.build_request(
                method,
                path,
                json=json,
                content=body.stream() if body is not None else None,
                headers=headers,
                timeout=timeout or self._timeout,
            )
            response = await self._send(request)
            try:
                return read_answer(response, bare_ok=bare_ok)
            except TokenInvalid:
                if not self.anonymous or renewed:
                    raise
                renewed = True
                await self._renew_token(headers["Authorization"])
            except RateLimited:
                if backed_off:
                    raise
                backed_off = True
                await self._backoff()

    # -- identity ------------------------------------------------------------------------
    def _client_id(self) -> str:
        return self.settings.client_id or self.store.client_id() or self.store.new_client_id()

    async def token(self) -> str:
        """The bearer token: ``NEMO_TOKEN``, else a cached or new anonymous one."""
        if self.settings.token:
            return self.settings.token
        if self._token and self._token.valid():
            return self._token.token
        async with self._token_lock:
            if not (self._token and self._token.valid()):
                cached = self.store.token()
                if cached and cached.valid():
                    register_secret(cached.token)
                    self._token = cached
                else:
                    self._token = await self._fetch_anonymous_token()
                    self.store.save_token(self._token)
            return self._token.token

    async def _renew_token(self, stale_header: str) -> None:
        async with self._token_lock:
            if self._token and f"Bearer {self._token.token}" != stale_header:
                return  # another call renewed it already
            log.info("the anonymous token was refused; obtaining a new one")
            self._token = None
            self.store.save_token(None)
            self._token = await self._fetch_anonymous_token()
            self.store.save_token(self._token)

    async def _fetch_anonymous_token(self) -> CachedToken:
        client_id = self._client_id()
        new_id = backed_off = False
        while True:
            request = self._http.build_request(
                "POST", TOKEN_PATH, headers={**self.attribution, "X-Client-Id": client_id}
            )
            try:
                data = read_answer(await self._send(request))
            except ClientIdMissing:
                if new_id:
                    raise
                new_id = True
                client_id = self.store.new_client_id()
                continue
            except RateLimited:
                if backed_off:
                    raise
                backed_off = True
                await self._backoff()
                continue
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise ServerFault("the anonymous-token answer had no token")
            register_secret(token)
            lifetime = data.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float) else TOKEN_LIFETIME
            log.info("obtained an anonymous token (%s credits)", data.get("credits", "?"))
            return CachedToken(token=token, expires_at=time.time() + seconds, client_id=client_id)

    # -- sessions ------------------------------------------------------------------------
    async def session(self) -> SessionRecord:
        """This skill's session, created on first need and remembered across restarts."""
        if self._session:
            return self._session
        async with self._session_lock:
            if self._session is None:
                self._session = self.store.session(self.manifest.name) or await self._new_session()
            return self._session

    async def _new_session(self) -> SessionRecord:
        data = await self._call(
            "POST", SESSION_PATH, json={"task_name": "project", "language": self.language}
        )
        if not isinstance(data, dict) or not data.get("session_id"):
            raise ServerFault("the new-session answer had no session id")
        record = SessionRecord(
            session_id=str(data["session_id"]),
            task_id=str(data.get("task_id") or ""),
            bind_id=str(data["bind_id"]) if data.get("bind_id") else None,
            created_at=time.time(),
        )
        self.store.save_session(self.manifest.name, record)
        log.info("started a new backend session")
        return record

    async def _replace_session(self, stale: SessionRecord) -> None:
        async with self._session_lock:
            if self._session and self._session.session_id != stale.session_id:
                return
            self.store.save_session(self.manifest.name, None)
            self._session = await self._new_session()
            self.notices.append(
                "The previous project had expired on the backend, so a new one was started."
            )

    async def _in_session(self, call: Callable[[SessionRecord], Awaitable[T]], *, retry: bool) -> T:
        record = await self.session()
        try:
            return await call(record)
        except SessionNotFound:
            await self._replace_session(record)
            if not retry:
                raise
            return await call(await self.session())

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    # -- simple calls --------------------------------------------------------------------
    async def credits(self) -> Credits:
        return Credits.from_answer(await self._call("GET", CREDITS_PATH))

    async def state(self) -> dict[str, Any]:
        """The session's state (``draft``, ``video_infos``, ``canvas_config`` ...)."""

        async def call(record: SessionRecord) -> dict[str, Any]:
            data = await self._call("GET", state_path(record.session_id))
            data = data if isinstance(data, dict) else {}
            if bind_id := data.get("bind_id"):
                self._remember_bind_id(record, str(bind_id))
            state = data.get("state", data)
            return state if isinstance(state, dict) else {}

        return await self._in_session(call, retry=True)

    def _remember_bind_id(self, record: SessionRecord, bind_id: str) -> None:
        if record.bind_id != bind_id and self._session == record:
            self._session = SessionRecord(
                record.session_id, record.task_id, bind_id, record.created_at
            )
            self.store.save_session(self.manifest.name, self._session)

    async def claim_link(self) -> str:
        """A browser link to this project; it carries a claim token, never the API token."""

        async def call(record: SessionRecord) -> str:
            data = await self._call(
                "POST",
                CLAIM_PATH,
                json={"task_id": record.task_id, "session_id": record.session_id},
            )
            claim = data.get("claim_token") if isinstance(data, dict) else None
            if not claim:
                raise ServerFault("the claim-token answer had no claim token")
            return f"{self.settings.web_url}/workspace/claim?ct={quote(str(claim), safe='')}"

        return await self._in_session(call, retry=True)

    def register_link(self) -> str | None:
        """``<web>?bind=<id>`` for out-of-credits advice, when a session exists."""
        record = self._session
        if record is None:
            return None
        bind = record.bind_id or record.task_id
        return f"{self.settings.web_url}?bind={quote(bind, safe='')}" if bind else None

    # -- uploads -------------------------------------------------------------------------
    async def upload_file(
        self,
        path: Path,
        *,
        filename: str,
        content_type: str,
        progress: ByteProgress | None = None,
    ) -> Any:
        """Stream one local file as multipart field ``files``; returns the backend's answer."""
        timeout = httpx.Timeout(
            self.settings.request_timeout, connect=self.settings.connect_timeout
        )

        async def call(record: SessionRecord) -> Any:
            part = FilePart(path, filename, content_type, progress)
            return await self._call(
                "POST", upload_path(record.session_id), body=part, timeout=timeout
            )

        return await self._in_session(call, retry=True)

    async def upload_urls(self, urls: list[str]) -> Any:
        async def call(record: SessionRecord) -> Any:
            return await self._call(
                "POST",
                upload_path(record.session_id),
                json={"urls": urls, "source_type": "url"},
            )

        return await self._in_session(call, retry=True)

    # -- messages ------------------------------------------------------------------------
    async def send_message(self, text: str, on_signal: SignalHandler | None = None) -> Turn:
        """Send one message and read its stream to the end.

        Raises ``StreamDropped`` / ``StreamTimedOut`` (with the text so far) when the stream
        does not end cleanly: the caller recovers by reading state, never by sending again.
        """
        record = await self.session()
        body = {
            "app_name": APP,
            "user_id": "me",
            "session_id": record.session_id,
            "new_message": {"parts": [{"text": text}]},
            "streaming": True,
        }
        timeout = httpx.Timeout(
            self.settings.request_timeout,
            connect=self.settings.connect_timeout,
            read=max(self.settings.heartbeat_timeout, 1.0),
        )
        renewed = backed_off = False
        while True:
            headers = await self._headers(auth=True)
            headers["Accept"] = "text/event-stream"
            headers["Cache-Control"] = "no-store"
            request = self._http.build_request(
                "POST", MESSAGE_PATH, json=body, headers=headers, timeout=timeout
            )
            try:
                response = await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                raise BackendUnreachable("could not reach the backend; nothing was sent") from None
            except httpx.TransportError as exc:
                raise StreamDropped(f"no answer to the message ({type(exc).__name__})") from None
            try:
                content_type = response.headers.get("content-type", "")
                if response.status_code == 200 and "text/event-stream" in content_type:
                    return await self._read_stream(response, on_signal)
                await response.aread()
                error = error_for(response)
            finally:
                await response.aclose()
            # Refused before the stream opened: nothing ran, so these two retries are safe.
            if isinstance(error, TokenInvalid) and self.anonymous and not renewed:
                renewed = True
                await self._renew_token(headers["Authorization"])
                continue
            if isinstance(error, RateLimited) and not backed_off:
                backed_off = True
                await self._backoff()
                continue
            if isinstance(error, SessionNotFound):
                await self._replace_session(record)
            raise error

    async def _read_stream(self, response: httpx.Response, on_signal: SignalHandler | None) -> Turn:
        parser = StreamParser()
        last_content = time.monotonic()

        async def emit(signals: list[Signal]) -> None:
            nonlocal last_content
            for signal in signals:
                if not isinstance(signal, Heartbeat):
                    last_content = time.monotonic()
                if on_signal is not None:
                    await on_signal(signal)

        with anyio.move_on_after(self.settings.sse_timeout) as scope:
            try:
                async for chunk in response.aiter_text():
                    await emit(parser.feed(chunk))
                    if time.monotonic() - last_content > self.settings.heartbeat_timeout:
                        raise StreamTimedOut("only heartbeats for too long", text=parser.turn.text)
                await emit(parser.close())
            except httpx.TransportError as exc:
                log.warning("message stream dropped: %s", type(exc).__name__)
                raise StreamDropped("the stream broke", text=parser.turn.text) from None
        if scope.cancelled_caught:
            raise StreamTimedOut("the stream ran past its time limit", text=parser.turn.text)
        return parser.turn

    # -- renders -------------------------------------------------------------------------
    async def submit_render(self, draft: Any, render_id: str, session_id: str) -> RenderJob:
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

    def _same_origin(self, url: httpx.URL) -> bool:
        return url.is_relative_url or (
            url.scheme == self._origin.scheme
            and url.host == self._origin.host
            and url.port == self._origin.port
        )

    async def download(self, url: str, dest: Path, *, progress: ByteProgress | None = None) -> Path:
        """Stream ``url`` to a temporary file beside ``dest``; put it in place when complete.

        Never overwrites: ``dest`` taken gives ``dest (2)``. The token goes only to the API's
        own origin. A cancelled or broken download leaves nothing behind.
        """
        target = httpx.URL(urljoin(self.settings.api_url + "/", url))
        headers = (
            await self._headers(auth=True)
            if self._same_origin(target)
            else {"User-Agent": f"nemo-mcp/{__version__}"}
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            await self._stream_to(target, headers, tmp, progress)
            return place_new(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    async def _stream_to(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        tmp: Path,
        progress: ByteProgress | None,
    ) -> None:
        request = self._http.build_request("GET", url, headers=headers)
        response = await self._send(request, stream=True)
        try:
            if response.status_code != 200:
                await response.aread()
                raise error_for(response)
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            written = 0
            async with await anyio.open_file(tmp, "xb") as f:
                async for chunk in response.aiter_bytes(CHUNK):
                    if written == 0 and b"ftyp" not in chunk[:16]:
                        raise ServerFault("the download was not an MP4 file")
                    await f.write(chunk)
                    written += len(chunk)
                    if progress:
                        await progress(written, total)
                await f.flush()
                os.fsync(f.wrapped.fileno())
        except httpx.TransportError:
            raise BackendUnreachable("the download was interrupted") from None
        finally:
            await response.aclose()
        if written == 0 or (total is not None and written != total):
            raise ServerFault(f"the download was incomplete ({written} of {total or '?'} bytes)")


__all__ = ["BackendClient", "BackendError"]
