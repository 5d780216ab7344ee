"""The answer envelope and the error codes of the local backend.

Every JSON answer is ``{"code": 0, "data": {...}, "message": "ok"}``; an error is
``{"code": <code>, "data": null, "message": "<plain words>"}`` sent with an HTTP status.
The cloud's exact statuses are not documented, so the local backend uses these:

======  ===========  ==============================================================
code    HTTP status  meaning
======  ===========  ==============================================================
1001    401          token missing, invalid or expired
1002    404          session not found (or not yours)
2001    403          out of credits (402 is kept for "export blocked on the free plan")
4001    415          unsupported file type (by extension or by content)
4002    413          file (or request body) too large
400     400          missing ``X-Client-Id`` on the anonymous-token call
402     402          export blocked: attribution headers missing (or ``block_export``)
404     404          unknown route, render or file
405     405          method not allowed on that route
409     409          the session is busy (a message or an export is already running)
422     422          malformed JSON, missing or wrong fields
429     429          rate limited; a ``Retry-After`` header says when to come back
500     500          unexpected failure (logged to stderr; never caused by bad input)
======  ===========  ==============================================================

``/run_sse`` errors also carry ADK's ``detail`` key, so a reader of either shape understands them.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

TOKEN_INVALID = 1001
SESSION_NOT_FOUND = 1002
OUT_OF_CREDITS = 2001
UNSUPPORTED_TYPE = 4001
TOO_LARGE = 4002
MISSING_CLIENT_ID = 400
EXPORT_BLOCKED = 402
NOT_FOUND = 404
METHOD_NOT_ALLOWED = 405
CONFLICT = 409
BAD_REQUEST = 422
RATE_LIMITED = 429
INTERNAL = 500

HTTP_STATUS: dict[int, int] = {
    TOKEN_INVALID: 401,
    SESSION_NOT_FOUND: 404,
    OUT_OF_CREDITS: 403,
    UNSUPPORTED_TYPE: 415,
    TOO_LARGE: 413,
}
"""Codes whose HTTP status differs from the code itself; the others are sent as their own status."""


class ApiError(Exception):
    """An answer the backend gives on purpose: raised anywhere, turned into the envelope once."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.detail = detail

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, self.code)


def ok(data: Any) -> JSONResponse:
    """A successful answer in the envelope."""
    return JSONResponse({"code": 0, "data": data, "message": "ok"})


def error_response(error: ApiError) -> JSONResponse:
    """The envelope for ``error``, with its HTTP status and headers."""
    body: dict[str, Any] = {"code": error.code, "data": None, "message": error.message}
    if error.detail is not None:
        body["detail"] = error.detail
    return JSONResponse(body, status_code=error.status, headers=error.headers)
