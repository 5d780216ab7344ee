"""Media facts shared by the MCP server (``nemo_mcp``) and the embedded backend (``nemo_local``).

A leaf package: it imports neither of them, so the two halves never depend on each other. What a
file is from its first bytes (``mediatypes``), and finding FFmpeg and reading a file's streams
(``ffmpeg``).
"""

from __future__ import annotations

from nemo_media.ffmpeg import FFmpegMissing, MediaFacts, find_ffmpeg, inspect
from nemo_media.mediatypes import BACKEND_TYPES, HEAD_BYTES, TYPES, MediaType, detect

__all__ = [
    "BACKEND_TYPES",
    "HEAD_BYTES",
    "TYPES",
    "FFmpegMissing",
    "MediaFacts",
    "MediaType",
    "detect",
    "find_ffmpeg",
    "inspect",
]
