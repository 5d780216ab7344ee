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
    """Counters, safe to read from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._open = 0
        """Requests begun and not ended: a stream a test left open ends (and is counted) later,
        in the next test's figures, unless that test waits for none to be open."""

    def opened(self) -> None:
        with self._lock:
            self._open += 1

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._open -= 1
            self._routes[entry["route"]] += 1
            self._recent.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"routes": dict(self._routes), "recent": list(self._recent), "open": self._open}

    def count(self, route: str) -> int:
        with self._lock:
            return self._routes[route]

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._recent.clear()


class StatsMiddleware:
    """Outermost layer: records every HTTP request once its status is known."""

    def __init__(self, app: ASGIApp, stats: Stats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        started = time.time()
        counted = not scope["path"].startswith("/_local/")
        if counted:
            self.stats.opened()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
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
                "started": started,
                "ended": time.time(),
            }
            entry |= {key: header in names for header, key in SKILL_HEADERS.items()}
            source = dict(scope.get("headers", [])).get(b"x-skill-source", b"")
            entry["skill"] = source.decode("latin-1")[:64]
            entry["client_id"] = scope.get("state", {}).get("client_id")
            if counted:
                self.stats.record(entry)
