"""One exception tree for everything that can go wrong on purpose.

    NemoError
    ├── ConfigError                 settings or a manifest are unusable
    ├── InputError                  the user's input was refused; nothing was sent
    │   ├── FileChanged             a local file changed while it was being uploaded
    │   └── FolderUnusable          the output folder can't take the MP4
    ├── BackendUnreachable          no answer: connection refused, DNS, timeout
    ├── BackendError                the backend answered with an error (HTTP status or envelope)
    │   ├── TokenInvalid            1001 (knows whether the token was anonymous)
    │   ├── SessionNotFound         1002
    │   ├── OutOfCredits            2001 (knows the registration link, when there is one)
    │   ├── UnsupportedType         4001 (knows the accepted types)
    │   ├── MediaTooLarge           4002 (knows the limit)
    │   ├── ClientIdMissing         HTTP 400
    │   ├── ExportBlocked           HTTP 402
    │   ├── RateLimited             HTTP 429 (knows how long to wait)
    │   ├── RequestRejected         any other 4xx
    │   └── ServerFault             5xx, HTML pages, malformed JSON, answers of the wrong shape
    ├── StreamError                 a message stream that did not end cleanly
    │   ├── StreamDropped           the connection broke mid-stream
    │   └── StreamTimedOut          heartbeats only for too long, or the whole-stream cap
    ├── DownloadFailed              the finished video could not be saved (the render is kept)
    ├── RenderFailed                an export render failed twice
    ├── EditFailed                  the backend could not do an edit
    ├── ToolTimedOut                a read the backend did not answer within the tool's wait
    └── StoreUnavailable            the shared server's database did not answer (nothing lost)

Errors carry their own context (a limit, the accepted types, a link), given when they are made
(``ErrorContext``; the backend client knows it), never added after a catch, so ``nemo_mcp.words``
can turn any of them into plain words without side channels. ``detail`` holds what the backend
said, for the log only: no user text is ever built from a backend body or from a class name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENVELOPE_CODES: dict[int, type[BackendError]] = {}


class NemoError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True)
class ErrorContext:
    """What a backend error is said with that the backend's answer lacks."""

    anonymous: bool = True
    """The token was a free anonymous one (else the user's own NEMO_TOKEN)."""
    local: bool = False
    """The backend is the embedded one on this computer (offline)."""
    register_link: str | None = None
    accepted: Sequence[str] = ()
    """The types the skill takes."""
    limit_mb: int | None = None
    """The upload limit, when the refused item was not checked against it here (a link)."""
    size_bytes: int | None = None
    """The refused file's size, when it passed our own limit (the backend's is lower)."""


NO_CONTEXT = ErrorContext()


class ConfigError(NemoError):
    """The configuration (environment, flags, manifest, config folder) is unusable.

    The message is plain words naming the setting and the fix."""


class InputError(NemoError):
    """The user's input was refused locally; nothing was sent to the backend.

    The message is already plain words naming the problem and the fix."""


class FileChanged(InputError):
    """A local file grew or shrank while it was being uploaded; the upload was abandoned."""

    def __init__(self, name: str, *, grew: bool) -> None:
        how = "grew" if grew else "shrank"
        super().__init__(
            f"{name} {how} while it was being uploaded, so the upload was stopped. Wait until "
            "it has finished saving, then upload it again."
        )
        self.name = name


class FolderUnusable(InputError):
    """The output folder does not exist and can't be made, isn't writable, or is too full."""

    def __init__(self, folder: Path, problem: str) -> None:
        super().__init__(
            f"The MP4 can't be saved in {folder}: {problem}. Choose another folder "
            "(export_video's output_dir) or fix this one; nothing was rendered."
        )
        self.folder = folder


class BackendUnreachable(NemoError):
    """The backend could not be reached or did not answer in time."""

    def __init__(self, detail: str = "", *, local: bool = False, timed_out: bool = False):
        super().__init__(detail)
        self.local = local
        """Whether it was the embedded local backend (then the network is not the cause)."""
        self.timed_out = timed_out
        """Whether it was reached but did not answer in time (the network is not the cause)."""


class BackendError(NemoError):
    """The backend answered with an error; ``detail`` is its own message, for the log only."""

    code: int = 0

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        code: int | None = None,
        context: ErrorContext = NO_CONTEXT,
        retry_after: float | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.context = context
        self.retry_after = retry_after
        """How long the backend asked us to wait (429), when it said."""
        if code is not None:
            self.code = code

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code:
            ENVELOPE_CODES[cls.code] = cls


class TokenInvalid(BackendError):
    code = 1001

    @property
    def anonymous(self) -> bool:
        """Whether the refused token was a free anonymous one (else the user's NEMO_TOKEN)."""
        return self.context.anonymous


class SessionNotFound(BackendError):
    code = 1002


class OutOfCredits(BackendError):
    code = 2001


class UnsupportedType(BackendError):
    code = 4001


class MediaTooLarge(BackendError):
    code = 4002


class ClientIdMissing(BackendError):
    code = 400


class ExportBlocked(BackendError):
    code = 402


class RateLimited(BackendError):
    code = 429


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


class DownloadFailed(NemoError):
    """The render finished but the MP4 could not be saved; the render is kept for a retry."""

    def __init__(self, folder: Path, cause: BaseException) -> None:
        super().__init__(f"saving into {folder} failed: {type(cause).__name__}")
        self.folder = folder
        self.cause = cause


class RenderFailed(NemoError):
    """The export render failed (after the one retry with a new id)."""


class EditFailed(NemoError):
    """The backend could not do an edit. ``reply`` is what its agent said before, if anything."""

    def __init__(self, reason: str, *, reply: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


class ToolTimedOut(NemoError):
    """A read did not finish within the tool's wait (``NEMO_TOOL_WAIT``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class StoreUnavailable(NemoError):
    """The shared server's database did not answer in time; what is on record stays there."""


def backend_error(
    status: int,
    code: int | None,
    detail: str = "",
    *,
    retry_after: float | None = None,
    context: ErrorContext = NO_CONTEXT,
) -> BackendError:
    """The typed error for an HTTP status and/or envelope code (envelope code wins).

    A bare 401 is an authentication failure like 1001, so the same re-auth rule applies.
    """
    if status == 401 and not code:
        return TokenInvalid(detail, status=status, context=context)
    for candidate in (code, status):
        if candidate is None or candidate == 0:
            continue
        if cls := ENVELOPE_CODES.get(candidate):
            return cls(detail, status=status, code=code, context=context, retry_after=retry_after)
        if 500 <= candidate <= 599:
            return ServerFault(detail, status=status, code=code)
    if status >= 500:
        return ServerFault(detail, status=status, code=code)
    return RequestRejected(detail, status=status, code=code)
