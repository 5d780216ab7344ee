"""One exception tree for everything that can go wrong, and the one place it becomes words.

    NemoError
    ├── ConfigError                 settings or a manifest are wrong
    ├── InputError                  the user's input was refused before anything was sent
    ├── BackendUnreachable          no answer: connection refused, DNS, timeout
    ├── BackendError                the backend answered with an error (HTTP status or envelope)
    │   ├── TokenInvalid            1001
    │   ├── SessionNotFound         1002
    │   ├── OutOfCredits            2001
    │   ├── UnsupportedMedia        4001
    │   ├── MediaTooLarge           4002
    │   ├── ClientIdMissing         HTTP 400
    │   ├── ExportBlocked           HTTP 402
    │   ├── RateLimited             HTTP 429
    │   ├── RequestRejected         any other 4xx
    │   └── ServerFault             5xx, HTML pages, malformed JSON
    ├── StreamError                 a message stream that did not end cleanly
    │   ├── StreamDropped           the connection broke mid-stream
    │   └── StreamTimedOut          heartbeats only for too long, or the whole-stream cap
    └── RenderFailed                an export render failed twice

Codes may arrive as the HTTP status or inside the envelope; ``backend_error`` reads both.
``user_message`` is the only function that turns an error into words for a person: it never
includes a token, a raw code or a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ENVELOPE_CODES: dict[int, type[BackendError]] = {}


class NemoError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(NemoError):
    """The configuration (environment, manifest, config folder) is unusable."""


class InputError(NemoError):
    """The user's input was refused locally; nothing was sent to the backend.

    The message is already plain words naming the problem and the fix.
    """


class BackendUnreachable(NemoError):
    """The backend could not be reached or did not answer in time."""


class BackendError(NemoError):
    """The backend answered with an error.

    ``detail`` is the backend's own message, kept for logs; it is never shown as is.
    """

    code: int = 0

    def __init__(self, detail: str = "", *, status: int | None = None, code: int | None = None):
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.status = status
        if code is not None:
            self.code = code

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code:
            ENVELOPE_CODES[cls.code] = cls


class TokenInvalid(BackendError):
    code = 1001


class SessionNotFound(BackendError):
    code = 1002


class OutOfCredits(BackendError):
    code = 2001


class UnsupportedMedia(BackendError):
    code = 4001


class MediaTooLarge(BackendError):
    code = 4002


class ClientIdMissing(BackendError):
    code = 400


class ExportBlocked(BackendError):
    code = 402


class RateLimited(BackendError):
    code = 429

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(detail, status=status, code=code)
        self.retry_after = retry_after


class RequestRejected(BackendError):
    """A 4xx the contract does not name (422 validation, 404 route ...)."""


class ServerFault(BackendError):
    """The backend failed on its side or answered something unreadable."""


class StreamError(NemoError):
    """A message stream that did not end cleanly. ``text`` is what arrived before."""

    def __init__(self, detail: str, *, text: str = ""):
        super().__init__(detail)
        self.text = text


class StreamDropped(StreamError):
    """The connection broke mid-stream. The message must not be sent again."""


class StreamTimedOut(StreamError):
    """Only heartbeats for too long, or the whole stream ran past its cap."""


class RenderFailed(NemoError):
    """The export render failed (after the one retry with a new id)."""


def backend_error(
    status: int, code: int | None, detail: str = "", *, retry_after: float | None = None
) -> BackendError:
    """The typed error for an HTTP status and/or envelope code (envelope code wins).

    A bare 401 is an authentication failure like 1001, so the same re-auth rule applies.
    """
    if status == 401 and not code:
        return TokenInvalid(detail, status=status)
    for candidate in (code, status):
        if candidate is None or candidate == 0:
            continue
        if candidate == RateLimited.code:
            return RateLimited(detail, status=status, code=code, retry_after=retry_after)
        if cls := ENVELOPE_CODES.get(candidate):
            return cls(detail, status=status, code=code)
        if 500 <= candidate <= 599:
            return ServerFault(detail, status=status, code=code)
    if status >= 500:
        return ServerFault(detail, status=status, code=code)
    return RequestRejected(detail, status=status, code=code)


@dataclass(frozen=True)
class Hints:
    """What ``user_message`` may mention: nothing secret lives here."""

    anonymous: bool = True
    accepted_types: Sequence[str] = ()
    max_upload_mb: int | None = None
    register_link: str | None = None
    retry_after: float | None = None


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} min"


def user_message(exc: BaseException, hints: Hints | None = None) -> str:
    """Plain words for a person; the single translation point for every error."""
    h = hints or Hints()
    if isinstance(exc, InputError | ConfigError):
        return str(exc)
    if isinstance(exc, BackendUnreachable):
        return (
            "The NemoVideo backend could not be reached. Check the network connection "
            "(or NEMO_API_URL) and try again; nothing was charged."
        )
    if isinstance(exc, TokenInvalid):
        if h.anonymous:
            return (
                "The free session token was refused even after renewing it. "
                "Try again in a minute; nothing was charged."
            )
        return (
            "Your NEMO_TOKEN is invalid or has expired. Create a new token in your NemoVideo "
            "account and update NEMO_TOKEN in the MCP client's settings."
        )
    if isinstance(exc, SessionNotFound):
        return (
            "The previous project expired on the backend, so a new one was started. "
            "Upload the media again and repeat the request."
        )
    if isinstance(exc, OutOfCredits):
        if h.anonymous and h.register_link:
            return (
                "You are out of free credits. Register to keep this project and get more "
                f"credits: {h.register_link}"
            )
        return "You are out of credits. Top up credits in your NemoVideo account, then try again."
    if isinstance(exc, UnsupportedMedia):
        types = ", ".join(h.accepted_types) or "the listed formats"
        return f"The backend does not accept that file type. Accepted types: {types}."
    if isinstance(exc, MediaTooLarge):
        limit = f" (the limit is {h.max_upload_mb} MB)" if h.max_upload_mb else ""
        return f"The file is too large{limit}. Trim or compress it and upload it again."
    if isinstance(exc, ClientIdMissing):
        return "The backend did not accept this device's client id. Try again in a moment."
    if isinstance(exc, ExportBlocked):
        return (
            "Export is not available on the free plan. This is a plan limit, not credits: "
            "register or upgrade to export."
        )
    if isinstance(exc, RateLimited):
        wait = exc.retry_after or h.retry_after or 30
        return f"The backend is rate limiting requests. Wait about {_duration(wait)} and try again."
    if isinstance(exc, RequestRejected):
        return (
            "The backend refused the request. Try again; if it keeps happening, "
            "run `nemo-mcp doctor` and report it."
        )
    if isinstance(exc, ServerFault):
        return "The NemoVideo backend had an internal problem. Try again in a few minutes."
    if isinstance(exc, StreamDropped):
        return (
            "The connection to the backend dropped and the result could not be confirmed. "
            "The request was not sent twice; check the timeline before asking again."
        )
    if isinstance(exc, StreamTimedOut):
        return (
            "The backend stopped answering for too long. The request was not sent twice; "
            "check the timeline, then try again if nothing changed."
        )
    if isinstance(exc, RenderFailed):
        return f"The export failed on the backend: {exc}. Try exporting again later."
    if isinstance(exc, NemoError):
        return str(exc)
    return "Something unexpected went wrong inside nemo-mcp; the details are in its log."
