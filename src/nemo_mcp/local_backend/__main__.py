"""``python -m nemo_mcp.local_backend ...``: the same as ``nemo-mcp local-backend ...``."""

from __future__ import annotations

import sys

from nemo_mcp.cli import main

raise SystemExit(main(["local-backend", *sys.argv[1:]]))
