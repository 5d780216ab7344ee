from __future__ import annotations

from nemo_mcp.cli import main

raise SystemExit(main())
