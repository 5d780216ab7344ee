"""nemo-mcp: an MCP server for AI video work on the NemoVideo backend."""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]
