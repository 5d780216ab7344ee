"""Fault switches: make the local backend misbehave on purpose, the way the cloud sometimes does.

Set them when the backend starts (``LocalBackendConfig(faults=Faults(...))``), at run time through
``POST /_local/faults`` with a JSON object of the fields to change (``GET`` shows them), or directly
on ``LocalBackend.faults`` from a test. One-shot switches reset themselves when used.

==========================  =========  ==========================================================
switch                      kind       effect
==========================  =========  ==========================================================
``expire_token``            one-shot   every live token expires before the next call (then 1001)
``lose_session``            one-shot   the next call naming a session finds it deleted (1002)
``rate_limit_next``         counter    the next N ``/api/*`` and ``/run_sse`` calls get 429
``retry_after_s``           setting    the ``Retry-After`` seconds sent with a 429 (default 30)
``drop_next_stream``        one-shot   the next ``/run_sse`` lands its edit, then the connection
                                       is cut mid-stream without a final event or a clean end
``heartbeat_only_seconds``  one-shot   the next ``/run_sse`` sends only heartbeats that long first
``error_next_stream``       one-shot   the next ``/run_sse`` sends ADK's error line (with an HTML
                                       page for a message) and ends without landing its edit
``fail_next_render``        one-shot   the next render job submitted fails
``block_export``            setting    render submits answer 402 (export blocked on the plan)
``slow_ms``                 setting    every answer (but the admin routes) is delayed that long
``silent_next``             one-shot   the next edit is answered without text
``talkative``               setting    edits are never silent
``hang_next``               counter    the next N calls are accepted and never answered
``html_error_next``         counter    the next N calls get a 502 HTML error page
``bad_json_next``           counter    the next N calls get a 200 with malformed JSON
``redirect_next``           counter    the next N calls get a 302 to another host
``fault_path``              setting    the four counters above act only on paths starting with
                                       this (default: every ``/api/*`` and ``/run_sse`` call)
``cut_download_next``       counter    the next N MP4 downloads stop half-way (connection cut)
``files_base_url``          setting    render links point at this origin (a CDN stand-in) instead
                                       of the backend's own
``echo_headers``            setting    error answers and message streams quote the request's
                                       headers, ``Authorization`` included (a leak to catch)
==========================  =========  ==========================================================
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_ONE_SHOT = frozenset(
    {
        "expire_token",
        "lose_session",
        "drop_next_stream",
        "fail_next_render",
        "silent_next",
        "error_next_stream",
    }
)

_COUNTERS = frozenset(
    {"rate_limit_next", "hang_next", "html_error_next", "bad_json_next", "redirect_next",
     "cut_download_next"}
)  # fmt: skip


@dataclass
class Faults:
    """The switches, safe to flip from any thread while the backend runs."""

    expire_token: bool = False
    lose_session: bool = False
    rate_limit_next: int = 0
    retry_after_s: int = 30
    drop_next_stream: bool = False
    heartbeat_only_seconds: float = 0.0
    error_next_stream: bool = False
    fail_next_render: bool = False
    block_export: bool = False
    slow_ms: int = 0
    silent_next: bool = False
    talkative: bool = False
    hang_next: int = 0
    html_error_next: int = 0
    bad_json_next: int = 0
    redirect_next: int = 0
    fault_path: str = ""
    cut_download_next: int = 0
    echo_headers: bool = False
    files_base_url: str = ""
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def take(self, name: str) -> bool:
        """Read a one-shot switch and reset it, atomically (two requests never both see it)."""
        if name not in _ONE_SHOT:
            raise ValueError(f"{name} is not a one-shot switch")
        with self._lock:
            value = bool(getattr(self, name))
            setattr(self, name, False)
        return value

    def take_rate_limit(self) -> bool:
        """Whether this call is rate-limited; counts one off ``rate_limit_next``."""
        return self.take_count("rate_limit_next")

    def take_count(self, name: str) -> bool:
        """Whether the counter ``name`` still has a call to spoil; counts one off if so."""
        if name not in _COUNTERS:
            raise ValueError(f"{name} is not a counter switch")
        with self._lock:
            left = int(getattr(self, name))
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def take_heartbeat_only(self) -> float:
        """Seconds of heartbeats-only for this stream (then the switch is off)."""
        with self._lock:
            seconds = self.heartbeat_only_seconds
            self.heartbeat_only_seconds = 0.0
        return max(0.0, seconds)

    def snapshot(self) -> dict[str, Any]:
        """The switches as a JSON-ready dict."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set several switches at once; refuses unknown names and wrong types (``ValueError``)."""
        types = {f.name: f.type for f in fields(self) if f.init}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            kind = types.get(name)
            if kind is None:
                raise ValueError(f"unknown fault switch {name!r}; known: {', '.join(types)}")
            checked[name] = _coerce(name, str(kind), value)
        with self._lock:
            for name, value in checked.items():
                setattr(self, name, value)

    def all_off(self) -> None:
        """Every switch back to its default, and edits never silent: a predictable backend."""
        self.update(Faults(talkative=True).snapshot())

    def copy(self) -> Faults:
        """An independent copy (a config's switches are a template, never shared live state)."""
        clone = Faults()
        clone.update(self.snapshot())
        return clone


def _coerce(name: str, kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    elif kind == "str":
        if isinstance(value, str):
            return value
    elif kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    sign = "" if kind == "str" else "non-negative "
    raise ValueError(f"fault switch {name!r} needs a {sign}{kind}, not {value!r}")
