"""Logging for a stdio server: stderr and a small rotating file, never stdout, never a token.

stdout is the JSON-RPC wire. Claude Desktop and Cursor keep what a server writes to stderr in
their own MCP logs; the file (``<config dir>/nemo-mcp.log``) is there for clients that do not.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from nemo_mcp.redact import RedactingFormatter

LOG_FILE = "nemo-mcp.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every request, or (the SDK) every tool error we already logged once.
QUIET = ("httpx", "httpcore", "uvicorn", "uvicorn.access", "uvicorn.error",
         "mcp.server.lowlevel.server", "mcp.server.mcpserver.server")  # fmt: skip


def setup_logging(config_dir: Path | None, level: str = "INFO") -> Path | None:
    """Configure the root logger once; returns the log file's path when there is one."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stderr = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [stderr]
    path: Path | None = None
    if config_dir is not None:
        try:
            config_dir.mkdir(parents=True, exist_ok=True)
            path = config_dir / LOG_FILE
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    path, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
                )
            )
        except OSError:
            path = None
    for handler in handlers:
        handler.setFormatter(RedactingFormatter(logging.Formatter(FORMAT)))
        root.addHandler(handler)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return path
