"""Structured logs for the shared server: one JSON object per line on stderr, never a token.

Log collectors (journald, Docker, Kubernetes) read stderr; JSON lines let them filter by field.
Every line is redacted after it is assembled (``RedactingFormatter``); users appear only as
a prefix of their user key.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from nemo_mcp.logs import QUIET
from nemo_mcp.redact import RedactingFormatter

STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_json_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    # Redaction after the JSON is assembled: no field, traceback included, can carry a token.
    handler.setFormatter(RedactingFormatter(JsonFormatter()))
    root.addHandler(handler)
    # The SDK logs "Terminating session: None" at INFO on every stateless request: noise.
    sdk_http = ("mcp.server.streamable_http", "mcp.server.streamable_http_manager")
    for name in (*QUIET, *sdk_http, "procrastinate", "psycopg.pool"):
        logging.getLogger(name).setLevel(logging.WARNING)
