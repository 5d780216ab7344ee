"""``python -m nemo_local ...``: the same as ``nemo-mcp local-backend ...``."""

from __future__ import annotations

from nemo_local.command_line import main

raise SystemExit(main())
