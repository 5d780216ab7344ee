"""The one place an error becomes words for a person. Pure.

Every tool failure, every rejected upload item and every failed job goes through
:func:`user_message`. It reads only what the error carries (a limit, the accepted types, a link,
whether the token was anonymous or the backend embedded), never a backend body, a raw code, a
class name or a traceback; secrets are removed later, at the edge, from everything that leaves.
Registration, top-up and plan wording follow the vendor's skills.
"""

from __future__ import annotations

import errno

from nemo_mcp.errors import (
    BackendUnreachable,
    ClientIdMissing,
    ConfigError,
    DownloadFailed,
    EditFailed,
    ExportBlocked,
    InputError,
    MediaTooLarge,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    RequestRejected,
    ServerFault,
    SessionNotFound,
    StoreUnavailable,
    StreamDropped,
    StreamTimedOut,
    TokenInvalid,
    ToolTimedOut,
    UnsupportedType,
)

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
UNEXPECTED = "Something unexpected went wrong inside nemo-mcp; the details are in its log."
DEFAULT_RETRY_AFTER_S = 30.0


def duration_words(seconds: float) -> str:
    """``45 s`` or ``3 min``: how long to wait, for a person."""
    seconds = max(1, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} min"


def _out_of_credits(exc: OutOfCredits) -> str:
    context = exc.context
    if context.local:
        return (
            "The local backend's credit counter ran short for this request. Offline credits only "
            "count work and refill by themselves: try again; nothing was charged."
        )
    if context.anonymous and context.register_link:
        return (
            "You are out of free credits. Register to keep this project and get more credits: "
            f"{context.register_link}"
        )
    return "You are out of credits. Top up credits in your account, then try again."


def _too_large(exc: MediaTooLarge) -> str:
    limit = ""
    if exc.context.limit_mb:
        limit = f" (the limit is {exc.context.limit_mb} MB)"
    elif size := exc.context.size_bytes:
        limit = f" for the backend: {size / 1_048_576:.1f} MB is more than it takes"
    return f"The file is too large{limit}. Trim or compress it and upload it again."


def _unsupported(exc: UnsupportedType) -> str:
    if accepted := exc.context.accepted:
        return f"The backend does not take that file type. Accepted types: {', '.join(accepted)}."
    return "The backend does not take that file type."


def _token(exc: TokenInvalid) -> str:
    if exc.anonymous:
        return (
            "The free session token was refused even after renewing it. "
            "Try again in a minute; nothing was charged."
        )
    return (
        "Your NEMO_TOKEN is invalid or has expired. Create a new token in your NemoVideo account "
        "and update NEMO_TOKEN in the MCP client's settings."
    )


def _unreachable(exc: BackendUnreachable) -> str:
    if exc.timed_out:
        return (
            "The backend took the request but did not answer in time, so it was stopped. "
            "Try again in a minute; if it keeps happening, run `nemo-mcp doctor`."
        )
    if exc.local:
        return (
            "The embedded local backend did not answer. Restart the server "
            "(`nemo-mcp serve --local`); nothing was charged."
        )
    return (
        "The NemoVideo backend could not be reached. Check the network connection (or "
        "NEMO_API_URL) and try again; nothing was charged."
    )


def _edit_failed(exc: EditFailed) -> str:
    return f"{exc.reply}\n{exc.reason}" if exc.reply else exc.reason


def _download_failed(exc: DownloadFailed) -> str:
    if isinstance(exc.cause, OSError) and exc.cause.errno in DISK_FULL_ERRNOS:
        return (
            f"The video was rendered but could not be saved in {exc.folder}: the disk is full. "
            "Free some space (or choose another output_dir), then call export_video again: it "
            "saves the finished render without rendering again."
        )
    return (
        f"The video was rendered but could not be saved in {exc.folder}. Call export_video "
        "again (with another output_dir if this folder is the problem): it saves the finished "
        "render without rendering again."
    )


FIXED: dict[type[BaseException], str] = {
    SessionNotFound: (
        "The previous project expired on the backend, so a new one was started. "
        "Upload the media again and repeat the request."
    ),
    ClientIdMissing: "The backend did not accept this device's client id. Try again in a moment.",
    ExportBlocked: (
        "Export is not available on the free plan. This is a plan limit, not credits: "
        "register or upgrade your plan to unlock export."
    ),
    RequestRejected: (
        "The backend refused the request. Try again; if it keeps happening, run "
        "`nemo-mcp doctor` and report it."
    ),
    ServerFault: "The NemoVideo backend had an internal problem. Try again in a few minutes.",
    StreamDropped: (
        "The connection to the backend dropped and the result could not be confirmed. "
        "The request was not sent twice; check the timeline before asking again."
    ),
    StreamTimedOut: (
        "The backend stopped answering for too long. The request was not sent twice; "
        "check the timeline, then try again if nothing changed."
    ),
    StoreUnavailable: (
        "The service cannot reach its database; try again in a minute. Nothing was lost."
    ),
    RenderFailed: (
        "The export failed on the backend, twice. Nothing was charged for it; try "
        "exporting again later."
    ),
}


def user_message(exc: BaseException) -> str:
    """Plain words for a person; the single translation point for every error."""
    match exc:
        case InputError() | ConfigError():
            return str(exc)
        case BackendUnreachable():
            return _unreachable(exc)
        case ToolTimedOut():
            return (
                f"The backend did not answer within {duration_words(exc.seconds)}, so this was "
                "stopped and nothing was changed. Try again in a minute; if it keeps happening, "
                "run `nemo-mcp doctor`."
            )
        case TokenInvalid():
            return _token(exc)
        case OutOfCredits():
            return _out_of_credits(exc)
        case UnsupportedType():
            return _unsupported(exc)
        case MediaTooLarge():
            return _too_large(exc)
        case RateLimited():
            after = exc.retry_after
            wait = duration_words(DEFAULT_RETRY_AFTER_S if after is None else after)
            return f"The backend is rate limiting requests. Wait about {wait} and try again."
        case EditFailed():
            return _edit_failed(exc)
        case DownloadFailed():
            return _download_failed(exc)
    for kind, words in FIXED.items():
        if isinstance(exc, kind):
            return words
    return UNEXPECTED
