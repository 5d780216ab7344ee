"""The NemoVideo backend as the server sees it: one client of the contract, made of parts that
each own one job (HTTP and errors, credentials, sessions, the stream reader)."""

from __future__ import annotations

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.models import Credits, JsonObject, RenderJob
from nemo_mcp.backend.sse import Failure, Heartbeat, Signal, TextUpdate, ToolCall, ToolResult, Turn

__all__ = [
    "BackendClient",
    "Credits",
    "Failure",
    "Heartbeat",
    "JsonObject",
    "RenderJob",
    "Signal",
    "TextUpdate",
    "ToolCall",
    "ToolResult",
    "Turn",
]
