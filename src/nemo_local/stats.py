"""What the backend saw, for tests: calls per route, the last requests and how many are open.

A request is recorded as method, path, route, status, when it began and ended, and whether
the ``Authorization`` and ``X-Skill-*`` headers were *present*; header values (the token above
all) are never kept, but for ``X-Skill-Source``'s (the skill a request is attributed to, a
skill's name) and the client id of the account the token belongs to (the install's id it asked
for its token with, no secret): a test counts its own user's requests by it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RECENT = 200
SKILL_HEADERS = {
    b"x-skill-source": "skill_source",
    b"x-skill-version": "skill_version",
    b"x-skill-platform": "skill_platform",
}


class Stats:
    """Counters, safe to read from another thread.

    A request is counted when its answer starts (or when it ends, if it never answered): a
    client that has its answer finds it counted, however long the answer streams on. It stays
    ``open`` until it ends: a stream a test left open ends later, so the next test waits for none
    to be open before it zeroes the counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._open = 0

    def opened(self) -> None:
        with self._lock:
            self._open += 1

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._routes[entry["route"]] += 1
            self._recent.append(entry)

    def closed(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._open -= 1
            entry["ended"] = time.time()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            recent = [dict(entry) for entry in self._recent]
            return {"routes": dict(self._routes), "recent": recent, "open": self._open}

    def count(self, route: str) -> int:
        with self._lock:
            return self._routes[route]

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._recent.clear()


class StatsMiddleware:
    """Outermost layer: records every HTTP request (but the ``/_local/`` admin routes)."""

    def __init__(self, app: ASGIApp, stats: Stats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_local/"):
            await self.app(scope, receive, send)
            return
        started = time.time()
        recorded: dict[str, Any] | None = None
        self.stats.opened()

        def record(status: int) -> dict[str, Any]:
            entry = _describe(scope, status) | {"started": started, "ended": None}
            self.stats.record(entry)
            return entry

        async def recording_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and recorded is None:
                recorded = record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.stats.closed(recorded if recorded is not None else record(0))


def _describe(scope: Scope, status: int) -> dict[str, Any]:
    names = {name for name, _ in scope.get("headers", [])}
    route = scope.get("route")
    entry: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "route": route.name
        if isinstance(route, BaseRoute) and hasattr(route, "name")
        else "unknown",
        "status": status,
        "authorization": b"authorization" in names,
    }
    entry |= {key: header in names for header, key in SKILL_HEADERS.items()}
    source = dict(scope.get("headers", [])).get(b"x-skill-source", b"")
    entry["skill"] = source.decode("latin-1")[:64]
    entry["client_id"] = scope.get("state", {}).get("client_id")
    return entry
