"""How a local backend is set up: one immutable value, defaults as named constants beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nemo_local.faults import Faults

DEFAULT_HOST = "127.0.0.1"
STARTING_CREDITS = 100
DEFAULT_CANVAS = (1080, 1920)
MAX_UPLOAD_MB = 500
SILENT_RATE = 0.3
WORK_SECONDS = 1.5
HEARTBEAT_INTERVAL = 0.5
TOKENS_PER_ADDRESS = 10
TOKEN_TTL_SECONDS = 7 * 24 * 3600
OFFLINE_CREDITS = 10_000
"""``serve --local``: a balance worth 100 generations, topped back up whenever it runs short."""


@dataclass(frozen=True)
class LocalBackendConfig:
    """Settings of one local backend; ``faults`` is copied at start, so a config can be reused."""

    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = 0
    """0 picks a free port."""
    starting_credits: int = STARTING_CREDITS
    canvas: tuple[int, int] = DEFAULT_CANVAS
    max_upload_mb: int = MAX_UPLOAD_MB
    silent_rate: float = SILENT_RATE
    """Share of edits (never generations) answered without text."""
    seed: int | None = None
    """Seeds the choice of silent edits, so a test sees the same sequence every run."""
    work_seconds: float = WORK_SECONDS
    """How long a generation "works" (sending heartbeats) before it lands."""
    heartbeat_interval: float = HEARTBEAT_INTERVAL
    """Seconds of quiet on a stream before a ``: still working`` comment is sent."""
    tokens_per_address: int = TOKENS_PER_ADDRESS
    """Anonymous tokens one address may obtain per 7 days (then 429)."""
    keep_state: bool = False
    """Keep accounts, sessions, uploads and renders in ``<data_dir>/state.json`` across restarts
    (``serve --local``); see ``nemo_local.persist``. Off, a restart forgets everything."""
    refill_credits: bool = False
    """Top an account short of credits back up to ``starting_credits`` instead of refusing."""
    faults: Faults = field(default_factory=Faults)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024
