"""Keeping the token out of logs, errors and tool output.

Every token the process learns is registered here; ``redact`` replaces any registered secret,
and anything shaped like a NemoVideo token, with a placeholder. ``RedactingFilter`` applies it to
every log record, so even a careless log line cannot leak a token. Tool output keeps claim tokens
(``claims=False``): a claim link is the browser link the user is meant to get, and it never
carries the API token.
"""

from __future__ import annotations

import logging
import re

TOKEN_SHAPE = re.compile(r"\b(nmv_usr_|clm_)[A-Za-z0-9_\-.]{6,}")
API_TOKEN_SHAPE = re.compile(r"\bnmv_usr_[A-Za-z0-9_\-.]{6,}")
PLACEHOLDER = "[redacted]"

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str, *, claims: bool = True) -> str:
    """``text`` without any known secret or token-shaped string (claim tokens kept if not
    ``claims``)."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return (TOKEN_SHAPE if claims else API_TOKEN_SHAPE).sub(PLACEHOLDER, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and arguments) with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
