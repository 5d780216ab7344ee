"""Settings read from the environment once, at start-up, into one immutable object.

The variable names are the vendor's own (``NEMO_TOKEN``, ``NEMO_API_URL`` ...) so a user's
existing setup carries over. Timing knobs are floats in seconds so tests and impatient users
can shorten them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"
DEFAULT_CONFIG_DIR = Path("~/.config/nemovideo")

DEFAULT_POLL_INTERVAL = 30.0
DEFAULT_RETRY_AFTER = 30.0
DEFAULT_SSE_TIMEOUT = 900.0
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
DEFAULT_RECOVERY_WAIT = 30.0
DEFAULT_TOOL_WAIT = 45.0
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_REQUEST_TIMEOUT = 60.0


def default_output_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where exported MP4s go when ``NEMO_OUTPUT_DIR`` is unset.

    macOS keeps videos in ``~/Movies``; everywhere else ``~/Videos`` (or ``XDG_VIDEOS_DIR``).
    A sub-folder keeps our files apart from the user's own.
    """
    env = os.environ if environ is None else environ
    if xdg := env.get("XDG_VIDEOS_DIR"):
        return Path(xdg).expanduser() / "NemoVideo"
    base = "Movies" if sys.platform == "darwin" else "Videos"
    return Path("~").expanduser() / base / "NemoVideo"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if value < 0 or value != value:
        raise ValueError(f"{name} must be zero or more seconds, got {raw!r}")
    return value


def parse_canvas(raw: str) -> tuple[int, int] | None:
    """``WIDTHxHEIGHT`` (e.g. ``540x960``), for the local backend's default canvas."""
    if not raw.strip():
        return None
    width, sep, height = raw.strip().lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ValueError(f"NEMO_LOCAL_CANVAS must look like 1080x1920, got {raw!r}")
    size = (int(width), int(height))
    if not all(16 <= n <= 4096 for n in size):
        raise ValueError(
            f"NEMO_LOCAL_CANVAS must be between 16 and 4096 pixels a side, got {raw!r}"
        )
    return size


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once. ``token`` is a secret: it has no repr."""

    api_url: str = DEFAULT_API_URL
    web_url: str = DEFAULT_WEB_URL
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    config_dir: Path = DEFAULT_CONFIG_DIR.expanduser()
    output_dir: Path = field(default_factory=default_output_dir)
    media_roots: tuple[Path, ...] = ()
    poll_interval: float = DEFAULT_POLL_INTERVAL
    retry_after: float = DEFAULT_RETRY_AFTER
    sse_timeout: float = DEFAULT_SSE_TIMEOUT
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    recovery_wait: float = DEFAULT_RECOVERY_WAIT
    tool_wait: float = DEFAULT_TOOL_WAIT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    local_canvas: tuple[int, int] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        config_dir = Path(text("NEMO_CONFIG_DIR") or DEFAULT_CONFIG_DIR).expanduser()
        output_dir = Path(text("NEMO_OUTPUT_DIR") or default_output_dir(env)).expanduser()
        return cls(
            api_url=(text("NEMO_API_URL") or DEFAULT_API_URL).rstrip("/"),
            web_url=(text("NEMO_WEB_URL") or DEFAULT_WEB_URL).rstrip("/"),
            token=text("NEMO_TOKEN"),
            client_id=text("NEMO_CLIENT_ID"),
            config_dir=config_dir,
            output_dir=output_dir,
            media_roots=_paths(env.get("NEMO_MEDIA_ROOTS", "")),
            poll_interval=_seconds(env, "NEMO_POLL_INTERVAL", DEFAULT_POLL_INTERVAL),
            retry_after=_seconds(env, "NEMO_RETRY_AFTER", DEFAULT_RETRY_AFTER),
            sse_timeout=_seconds(env, "NEMO_SSE_TIMEOUT", DEFAULT_SSE_TIMEOUT),
            heartbeat_timeout=_seconds(env, "NEMO_HEARTBEAT_TIMEOUT", DEFAULT_HEARTBEAT_TIMEOUT),
            recovery_wait=_seconds(env, "NEMO_RECOVERY_WAIT", DEFAULT_RECOVERY_WAIT),
            tool_wait=_seconds(env, "NEMO_TOOL_WAIT", DEFAULT_TOOL_WAIT),
            local_canvas=parse_canvas(env.get("NEMO_LOCAL_CANVAS", "")),
        )
