"""Reading a backend answer: the ``{"code", "data", "message"}`` envelope, bare JSON, or trouble.

Every answer goes through ``read_answer``, so an error code is mapped the same way whether it
came as the HTTP status or inside the envelope, and HTML error pages or broken JSON become a
typed ``ServerFault`` instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nemo_mcp.errors import (
    NO_CONTEXT,
    BackendError,
    ErrorContext,
    ServerFault,
    SessionNotFound,
    backend_error,
)
from nemo_mcp.redact import redact

if TYPE_CHECKING:
    import httpx

MAX_DETAIL = 300
"""How much of a backend's error message is kept for the log (secrets removed before the cut)."""


def _detail(text: str) -> str:
    return redact(text)[:MAX_DETAIL]


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


def _code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_for(response: httpx.Response, context: ErrorContext = NO_CONTEXT) -> BackendError:
    """The typed error an unsuccessful answer stands for, made with ``context``."""
    body = _json(response)
    status = response.status_code
    retry = _retry_after(response)
    if isinstance(body, dict):
        code = _code(body.get("code"))
        detail = _detail(str(body.get("message") or body.get("detail") or ""))
        if code and code != 0:
            return backend_error(status, code, detail, retry_after=retry, context=context)
        # ADK's own answer for an unknown session; the cloud wraps it as 1002.
        if status == 404 and "session not found" in detail.lower():
            return SessionNotFound(detail, status=status, context=context)
        if status < 400:
            return ServerFault(f"unexpected answer: {detail!r}", status=status)
        return backend_error(status, None, detail, retry_after=retry, context=context)
    detail = _detail(response.text if body is None else str(body))
    if status < 400:
        return ServerFault(f"unreadable answer: {detail!r}", status=status)
    return backend_error(status, None, detail, retry_after=retry, context=context)


def read_answer(
    response: httpx.Response,
    *,
    bare_ok: bool = False,
    context: Callable[[], ErrorContext] = lambda: NO_CONTEXT,
) -> Any:
    """``data`` of a successful envelope (or the bare body when allowed); raises otherwise,
    with the error's context (asked for only then)."""
    body = _json(response)
    if response.status_code >= 400:
        raise error_for(response, context())
    if isinstance(body, dict) and "code" in body and ("data" in body or "message" in body):
        if _code(body.get("code")) != 0:
            raise error_for(response, context())
        return body.get("data")
    if body is not None and bare_ok:
        return body
    raise ServerFault("the backend's answer was not in the expected form", status=200)
