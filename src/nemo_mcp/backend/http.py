"""HTTP to the backend: one ``httpx.AsyncClient``, the envelope, and httpx's errors mapped once.

Like httpx's own ``map_httpcore_exceptions``, the errors of the layer below are translated in one
context manager, with one table per phase of a call, because the same exception means different
things at different moments: a reset before the request went out means nothing was sent (say
"unreachable"), the same reset after a message was sent means it may be running (a drop, never
re-sent). Nothing above this module sees an httpx exception.
"""

from __future__ import annotations

import contextlib
import enum
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from nemo_mcp import __version__
from nemo_mcp.backend.envelope import error_for, read_answer
from nemo_mcp.backend.multipart import FilePart
from nemo_mcp.errors import (
    NO_CONTEXT,
    BackendUnreachable,
    ErrorContext,
    NemoError,
    StreamDropped,
)
from nemo_mcp.settings import Settings

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"nemo-mcp/{__version__}"


class Phase(enum.Enum):
    CALL = "a call"
    """A request and its whole answer."""
    MESSAGE = "sending a message"
    """Until a message's stream has opened."""
    STREAM = "reading a stream"
    """While a message's stream is read."""
    DOWNLOAD = "downloading"


ExceptionTable = tuple[tuple[type["httpx.HTTPError"], str, type[NemoError]], ...]


@functools.cache
def exception_tables() -> dict[Phase, ExceptionTable]:
    """First match wins. The words are for the log; users get theirs from the error's type.

    Built at the first call: httpx (with its CLI's imports) is not loaded at start-up, since
    ``initialize`` never needs it."""
    import httpx

    unsent = "could not reach the backend; nothing was sent"
    return {
        Phase.CALL: (
            (httpx.TimeoutException, "the backend did not answer in time", BackendUnreachable),
            (httpx.TransportError, "could not reach the backend", BackendUnreachable),
        ),
        Phase.MESSAGE: (
            (httpx.ConnectError, unsent, BackendUnreachable),
            (httpx.ConnectTimeout, unsent, BackendUnreachable),
            (httpx.TransportError, "no answer to the message", StreamDropped),
        ),
        Phase.STREAM: ((httpx.TransportError, "the stream broke", StreamDropped),),
        Phase.DOWNLOAD: (
            (httpx.TransportError, "the download was interrupted", BackendUnreachable),
        ),
    }


@contextlib.contextmanager
def map_exceptions(
    phase: Phase, *, local: bool = False, text: Callable[[], str] = str
) -> Iterator[None]:
    """httpx errors become ours, by the table of ``phase``; ``text()`` is a stream's text so far."""
    import httpx

    try:
        yield
    except httpx.HTTPError as exc:
        for kind, words, ours in exception_tables()[phase]:
            if isinstance(exc, kind):
                detail = f"{words} ({type(exc).__name__})"
                if ours is StreamDropped:
                    raise StreamDropped(detail, text=text()) from None
                if ours is BackendUnreachable:
                    timed_out = isinstance(exc, httpx.TimeoutException) and not isinstance(
                        exc, httpx.ConnectTimeout
                    )
                    raise BackendUnreachable(detail, local=local, timed_out=timed_out) from None
                raise ours(detail) from None
        raise


class ApiHttp:
    """The process's one HTTP client to the backend: builds requests, sends them, reads answers.

    It knows the attribution headers and the API's origin; it does not know tokens or sessions
    (``Credentials`` and ``Sessions``) or what the calls mean (``BackendClient``).
    """

    def __init__(
        self,
        settings: Settings,
        attribution: Mapping[str, str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        local: bool = False,
        context: Callable[[], ErrorContext] = lambda: NO_CONTEXT,
    ) -> None:
        self.local = local
        """The backend is the embedded one on loopback: no proxies, no trust store."""
        self.context = context
        """The context the errors of an answer are made with (asked when one is made)."""
        self.attribution = dict(attribution)
        self._settings = settings
        self._transport = transport
        self._made: httpx.AsyncClient | None = None

    @functools.cached_property
    def timeout(self) -> httpx.Timeout:
        import httpx

        s = self._settings
        return httpx.Timeout(s.request_timeout, connect=s.connect_timeout)

    @functools.cached_property
    def _origin(self) -> httpx.URL:
        import httpx

        return httpx.URL(self._settings.api_url)

    @property
    def _client(self) -> httpx.AsyncClient:
        """Made at the first request, not at start-up: httpx is imported then, and making a
        client loads the TLS trust store (tens of ms); ``initialize`` needs neither. Offline,
        every request goes to the embedded backend over plain HTTP on loopback: no trust store."""
        if self._made is None:
            import httpx

            self._made = httpx.AsyncClient(
                base_url=self._settings.api_url,
                transport=self._transport,
                timeout=self.timeout,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=not self.local,
                verify=not self.local,
            )
        return self._made

    async def aclose(self) -> None:
        if self._made is not None:
            await self._made.aclose()

    def build(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        token: str | None,
        json: Any = None,
        body: FilePart | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """A request to the API with the attribution headers and the token; a request anywhere
        else (a CDN's download link) carries neither."""
        target = self._client.base_url.join(url)
        all_headers: dict[str, str] = {}
        if self.same_origin(target):
            all_headers.update(self.attribution)
            if token is not None:
                all_headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            all_headers.update(body.headers)
        all_headers.update(headers or {})
        return self._client.build_request(
            method,
            target,
            json=json,
            content=body.stream() if body is not None else None,
            headers=all_headers,
            timeout=timeout or self.timeout,
        )

    def same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )

    async def call(
        self, request: httpx.Request, *, bare_ok: bool = False, about: ErrorContext | None = None
    ) -> Any:
        """Send ``request`` and return the answer's ``data`` (or a typed error, made with
        ``about`` or the client's context)."""
        with map_exceptions(Phase.CALL, local=self.local):
            response = await self._client.send(request)
        return read_answer(
            response, bare_ok=bare_ok, context=(lambda: about) if about else self.context
        )

    @contextlib.asynccontextmanager
    async def open(self, request: httpx.Request, phase: Phase) -> AsyncIterator[httpx.Response]:
        """Send ``request`` and hold its answer open for streaming; closed on the way out.

        httpx errors while the caller reads it are mapped by ``phase`` too."""
        with map_exceptions(phase, local=self.local):
            response = await self._client.send(request, stream=True)
            try:
                yield response
            finally:
                await response.aclose()

    async def refusal(self, response: httpx.Response, phase: Phase) -> NemoError:
        """The typed error of an open answer that is not what was asked for."""
        with map_exceptions(phase, local=self.local):
            await response.aread()
        return error_for(response, self.context())
