"""The NemoVideo backend: one client, its stream reader and its answer models."""

from __future__ import annotations

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.models import Credits, RenderJob
from nemo_mcp.backend.sse import Failure, Heartbeat, Signal, TextUpdate, ToolCall, ToolResult, Turn

__all__ = [
    "BackendClient",
    "Credits",
    "Failure",
    "Heartbeat",
    "RenderJob",
    "Signal",
    "TextUpdate",
    "ToolCall",
    "ToolResult",
    "Turn",
]
