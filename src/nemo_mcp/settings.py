"""Every setting, read from the environment once, at start-up, into one immutable object.

This is the only module that reads the environment. The variable names are the vendor's own
(``NEMO_TOKEN``, ``NEMO_API_URL`` ...) so a user's existing setup carries over. Timing knobs are
floats in seconds so tests and impatient users can shorten them. A bad value is a ``ValueError``
naming the variable; a value past what assistants wait for is capped, with a warning the server
logs at start (``Settings.warnings``).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nemo_media.canvas import parse_canvas

DEFAULT_API_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"
DEFAULT_CONFIG_DIR = Path("~/.config/nemovideo")
LOCAL_BACKEND_ID = "local"

DEFAULT_POLL_INTERVAL = 30.0
DEFAULT_RENDER_POLLS = 10
DEFAULT_RETRY_AFTER = 30.0
DEFAULT_SSE_TIMEOUT = 900.0
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
DEFAULT_RECOVERY_WAIT = 30.0
DEFAULT_TOOL_WAIT = 45.0
MAX_TOOL_WAIT = 55.0
"""Claude Desktop (and the TypeScript SDK's default) give up on a tool call at about 60 s."""
DEFAULT_LINK_TTL = 3600.0
DEFAULT_USER_JOBS = 4
DEFAULT_USER_RPM = 120
DEFAULT_MIN_FREE_MB = 256
DEFAULT_METRICS_FROM = ("127.0.0.0/8", "::1/128")
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_REQUEST_TIMEOUT = 60.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FALSE_WORDS = ("0", "false", "no", "off")
CONFIRM_SPEND = ("always", "low", "never")
"""``NEMO_CONFIRM_SPEND``: ask before every message that spends credits, only when the balance
is low or the token anonymous (the default), or never (``nemo_mcp.spend``)."""
TRUE_WORDS = ("1", "true", "yes", "on")


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


_PLACEHOLDER = re.compile(r"\$\{user_config\.\w+\}")
"""``${user_config.nemo_token}``: what a bundle host may pass for a field the user left empty."""


def parse_seconds(raw: str, name: str) -> float:
    """A number of seconds, zero or more; ``name`` (a variable or a flag) is in the error."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {raw!r}")
    if value < 0:
        raise ValueError(f"{name} must be zero or more seconds, got {raw!r}")
    return value


def _networks(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """``NEMO_METRICS_FROM``: comma-separated networks; unset is the default, empty is none."""
    if raw is None:
        return default
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(
                f"NEMO_METRICS_FROM must list networks like 10.0.0.0/8, got {network!r}"
            ) from None
    return networks


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Resilience:
    """The timeouts on the database path and the drain on SIGTERM (environment settings)."""

    pool_timeout: float = 5.0
    """``NEMO_DB_POOL_TIMEOUT``: the longest a request waits for a database connection."""
    quick_timeout: float = 1.0
    """``NEMO_DB_QUICK_TIMEOUT``: the same while the database is known to be down."""
    busy_timeout: float = 30.0
    """``NEMO_DB_BUSY_TIMEOUT``: the wait when the database answers but every connection is
    in use (a load peak, not an outage: no bound of 10 s applies)."""
    connect_timeout: float = 3.0
    """``NEMO_DB_CONNECT_TIMEOUT``: one connection attempt (a host that drops packets)."""
    backoff_max: float = 5.0
    """``NEMO_RETRY_MAX``: the longest pause between two restarts of a failed loop."""
    drain: float = 8.0
    """``NEMO_DRAIN``: after SIGTERM, how long ``/readyz`` says 503 before the worker stops
    listening (longer than the balancer's health-check interval times its ``fall``)."""
    part_idle: float = 600.0
    """``NEMO_PART_IDLE``: a partial upload nothing wrote to for this long was abandoned."""


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
    skill: str | None = None
    skill_source: str | None = None
    manifest_dir: Path | None = None
    language: str | None = None
    locale: str | None = None
    log_level: str = "INFO"
    poll_interval: float = DEFAULT_POLL_INTERVAL
    render_polls: int = DEFAULT_RENDER_POLLS
    retry_after: float = DEFAULT_RETRY_AFTER
    sse_timeout: float = DEFAULT_SSE_TIMEOUT
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    recovery_wait: float = DEFAULT_RECOVERY_WAIT
    tool_wait: float = DEFAULT_TOOL_WAIT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    local_canvas: tuple[int, int] | None = None
    contact_sheet: bool = True
    confirm_spend: str = "low"
    server_key: str | None = field(default=None, repr=False)
    """Remote mode: derives user keys and seals the tokens kept for background work."""
    database_url: str | None = field(default=None, repr=False)
    """Remote mode: the PostgreSQL database the workers share (it may hold a password)."""
    remote_dir: Path | None = None
    """Remote mode: the folder every worker shares for uploads and exported files."""
    public_url: str | None = None
    """Remote mode: the server's address as users reach it, for download links."""
    link_ttl: float = DEFAULT_LINK_TTL
    """Remote mode: how long a signed download link opens without a header."""
    user_jobs: int = DEFAULT_USER_JOBS
    """Remote mode: jobs one user may have running at once, over all workers (0: no limit)."""
    user_rpm: int = DEFAULT_USER_RPM
    """Remote mode: requests one user may make per minute, over all workers (0: no limit)."""
    min_free_mb: int = DEFAULT_MIN_FREE_MB
    """Remote mode: room kept free in ``remote_dir``; an upload or export that would eat it is
    refused."""
    metrics_from: tuple[str, ...] = DEFAULT_METRICS_FROM
    resilience: Resilience = Resilience()
    """The shared server's database timeouts and drain (``remote/outage.py``)."""
    """Remote mode: the networks (CIDR) ``/metrics`` answers; empty turns it off."""
    local: bool = False
    """The API is the embedded local backend (``serve --local``); set by the server, not the env."""
    offline: bool = False
    """``NEMO_OFFLINE``: ``serve`` runs as ``serve --local`` (the MCP Bundle's offline switch)."""
    warnings: tuple[str, ...] = ()

    @property
    def backend_id(self) -> str:
        """Whose records: the API's URL, or one name for the embedded backend whatever its port."""
        return LOCAL_BACKEND_ID if self.local else self.api_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        warnings: list[str] = []

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            if _PLACEHOLDER.fullmatch(value):
                return None  # an MCP Bundle's optional field left empty: not a value
            return value or None

        def seconds(name: str, default: float) -> float:
            raw = text(name)
            return default if raw is None else parse_seconds(raw, name)

        def count(name: str, default: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            if not raw.isdigit():
                raise ValueError(f"{name} must be a whole number of 0 or more, got {raw!r}")
            return int(raw)

        tool_wait = seconds("NEMO_TOOL_WAIT", DEFAULT_TOOL_WAIT)
        if tool_wait > MAX_TOOL_WAIT:
            warnings.append(
                f"NEMO_TOOL_WAIT={text('NEMO_TOOL_WAIT')} is longer than assistants wait for a "
                f"tool (about 60 s); using {MAX_TOOL_WAIT:g} s."
            )
            tool_wait = MAX_TOOL_WAIT
        polls = text("NEMO_RENDER_POLLS") or str(DEFAULT_RENDER_POLLS)
        if not polls.isdigit() or int(polls) < 1:
            raise ValueError(
                f"NEMO_RENDER_POLLS must be a whole number of 1 or more, got {polls!r}"
            )
        level = (text("NEMO_LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            raise ValueError(
                f"NEMO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}"
            )
        confirm = (text("NEMO_CONFIRM_SPEND") or "low").lower()
        if confirm not in CONFIRM_SPEND:
            raise ValueError(
                f"NEMO_CONFIRM_SPEND must be one of {', '.join(CONFIRM_SPEND)}, got {confirm!r}"
            )
        offline = (text("NEMO_OFFLINE") or "0").lower()
        if offline not in FALSE_WORDS + TRUE_WORDS:
            raise ValueError(f"NEMO_OFFLINE must be true or false, got {offline!r}")
        canvas = text("NEMO_LOCAL_CANVAS")
        manifest_dir = text("NEMO_MANIFEST_DIR")
        return cls(
            api_url=(text("NEMO_API_URL") or DEFAULT_API_URL).rstrip("/"),
            web_url=(text("NEMO_WEB_URL") or DEFAULT_WEB_URL).rstrip("/"),
            token=text("NEMO_TOKEN"),
            client_id=text("NEMO_CLIENT_ID"),
            config_dir=Path(text("NEMO_CONFIG_DIR") or DEFAULT_CONFIG_DIR).expanduser(),
            output_dir=Path(text("NEMO_OUTPUT_DIR") or default_output_dir(env)).expanduser(),
            media_roots=_paths(env.get("NEMO_MEDIA_ROOTS", "")),
            skill=text("NEMO_SKILL"),
            skill_source=text("SKILL_SOURCE"),
            manifest_dir=Path(manifest_dir).expanduser() if manifest_dir else None,
            language=text("NEMO_LANGUAGE"),
            locale=text("LC_ALL") or text("LC_MESSAGES") or text("LANG"),
            log_level=level,
            poll_interval=seconds("NEMO_POLL_INTERVAL", DEFAULT_POLL_INTERVAL),
            render_polls=int(polls),
            retry_after=seconds("NEMO_RETRY_AFTER", DEFAULT_RETRY_AFTER),
            sse_timeout=seconds("NEMO_SSE_TIMEOUT", DEFAULT_SSE_TIMEOUT),
            heartbeat_timeout=seconds("NEMO_HEARTBEAT_TIMEOUT", DEFAULT_HEARTBEAT_TIMEOUT),
            recovery_wait=seconds("NEMO_RECOVERY_WAIT", DEFAULT_RECOVERY_WAIT),
            tool_wait=tool_wait,
            connect_timeout=seconds("NEMO_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
            request_timeout=seconds("NEMO_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT),
            local_canvas=parse_canvas(canvas, "NEMO_LOCAL_CANVAS") if canvas else None,
            server_key=text("NEMO_SERVER_KEY"),
            database_url=text("NEMO_DATABASE_URL"),
            remote_dir=Path(remote).expanduser() if (remote := text("NEMO_REMOTE_DIR")) else None,
            public_url=(text("NEMO_PUBLIC_URL") or "").rstrip("/") or None,
            contact_sheet=(text("NEMO_CONTACT_SHEET") or "1").lower() not in FALSE_WORDS,
            confirm_spend=confirm,
            link_ttl=seconds("NEMO_LINK_TTL", DEFAULT_LINK_TTL),
            user_jobs=count("NEMO_USER_JOBS", DEFAULT_USER_JOBS),
            user_rpm=count("NEMO_USER_RPM", DEFAULT_USER_RPM),
            min_free_mb=count("NEMO_MIN_FREE_MB", DEFAULT_MIN_FREE_MB),
            metrics_from=_networks(env.get("NEMO_METRICS_FROM"), DEFAULT_METRICS_FROM),
            offline=offline in TRUE_WORDS,
            resilience=Resilience(
                pool_timeout=seconds("NEMO_DB_POOL_TIMEOUT", Resilience.pool_timeout),
                quick_timeout=seconds("NEMO_DB_QUICK_TIMEOUT", Resilience.quick_timeout),
                busy_timeout=seconds("NEMO_DB_BUSY_TIMEOUT", Resilience.busy_timeout),
                connect_timeout=seconds("NEMO_DB_CONNECT_TIMEOUT", Resilience.connect_timeout),
                backoff_max=seconds("NEMO_RETRY_MAX", Resilience.backoff_max),
                drain=seconds("NEMO_DRAIN", Resilience.drain),
                part_idle=seconds("NEMO_PART_IDLE", Resilience.part_idle),
            ),
            warnings=tuple(warnings),
        )
