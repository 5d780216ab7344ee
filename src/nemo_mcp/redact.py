"""Keeping the token out of logs, errors and tool output.

Every token the process learns is registered here; ``redact`` replaces any registered secret,
and anything shaped like a NemoVideo token, with a placeholder. ``RedactingFormatter`` applies it
to every formatted log line (traceback included), so even a careless log line cannot leak a
token. Tool output keeps claim tokens
(``claims=False``): a claim link is the browser link the user is meant to get, and it never
carries the API token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

TOKEN_SHAPE = re.compile(r"\b(nmv_usr_|clm_)[A-Za-z0-9_\-.]{6,}")
API_TOKEN_SHAPE = re.compile(r"\bnmv_usr_[A-Za-z0-9_\-.]{6,}")
PLACEHOLDER = "[redacted]"
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 4096

_secrets: set[str] = set()
_outgoing: list[Callable[[str], str]] = []


def register_outgoing(rewrite: Callable[[str], str]) -> Callable[[], None]:
    """A last rewrite of every text a user reads (``claims=False``: tool output), not of logs:
    a shared server takes its own paths and user keys out this way (``remote/answers.py``).
    Returns what takes it away again (the server's end)."""
    _outgoing.append(rewrite)
    return lambda: _outgoing.remove(rewrite) if rewrite in _outgoing else None


def could_be_token(value: str) -> bool:
    """Whether ``value`` can be a token at all: 16 to 4096 printable characters, no spaces.

    The one definition, for the bearer, the pasted token and what is registered here: what is
    registered is taken out of every text of the process, other users' included, so a word
    ("the", "video") sent as a token must never get this far."""
    return MIN_TOKEN_CHARS <= len(value) <= MAX_TOKEN_CHARS and all(
        c.isprintable() and not c.isspace() for c in value
    )


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on. A shared server registers a user's token only once the
    backend took it: a made-up one could otherwise redact anything from other users' output."""
    if value and could_be_token(value):
        _secrets.add(value)


def redact(text: str, *, claims: bool = True) -> str:
    """``text`` without any known secret or token-shaped string (claim tokens kept if not
    ``claims``)."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    if not claims:
        for rewrite in _outgoing:
            text = rewrite(text)
    return (TOKEN_SHAPE if claims else API_TOKEN_SHAPE).sub(PLACEHOLDER, text)


class RedactingFormatter(logging.Formatter):
    """Formats a record with ``inner``, then removes secrets from the whole text, traceback
    included: redaction after assembly. The record itself is left alone, so a handler of
    someone else's (a test's capture, a host's own logging) sees it as it was logged."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        try:
            text = self.inner.format(record)
        except Exception:  # a broken format string must not break logging
            text = str(record.msg)
        return redact(text)


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Make every handler of ``logger`` (the root logger by default) redact what it writes."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))
