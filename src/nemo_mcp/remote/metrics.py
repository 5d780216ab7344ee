"""``/metrics``: what an operator watches, in the Prometheus text format (``prometheus_client``).

Per worker: HTTP requests and their latency by route, method and status; tool calls and their
latency by tool; jobs on record by kind and state, the job engine's queue depth and database
availability (read from PostgreSQL at each scrape, 2 s at most); jobs adopted after a worker
died; per-user limit refusals. Labels are routes, tools, kinds and states only: never a user
key, a token or a file name (a route's path parameters are folded into the route).

The route answers only direct requests from ``NEMO_METRICS_FROM`` networks (default loopback)
that did not come through a proxy (no ``X-Forwarded-For``), so it is scraped worker by worker
and never reachable through the balancer; anything else is a 404.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp.tool_names import ToolName

log = logging.getLogger(__name__)

ROUTES = (
    "/mcp", "/uploads", "/downloads", "/healthz", "/readyz", "/metrics", "/oauth", "/.well-known",
    "/authorize", "/token", "/register", "/revoke",
)  # fmt: skip
TOOLS = frozenset(ToolName)
PEEK_BYTES = 64 * 1024
SCRAPE_TIMEOUT_S = 2.0
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def route_of(path: str) -> str:
    """The route a path belongs to (``/downloads/<name>`` is ``/downloads``), else ``other``."""
    for route in ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "other"


def tool_of(body: bytes) -> str | None:
    """The tool a JSON-RPC ``tools/call`` body names (``other`` if not one of ours)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return name if name in TOOLS else "other"


def may_scrape(client: str | None, headers: Mapping[str, str], networks: tuple[str, ...]) -> bool:
    """A direct request (not through a proxy) from one of ``networks``."""
    if not client or not networks or "x-forwarded-for" in headers:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


class Live(Collector):
    """Counts kept elsewhere (the job manager, the limits), read at each scrape."""

    def __init__(self, adopted: Callable[[], int], refused: Callable[[], Mapping[str, int]]):
        self.adopted, self.refused = adopted, refused

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "nemo_adoptions", "Jobs this worker took over after their worker died",
            value=self.adopted(),
        )  # fmt: skip
        refusals = CounterMetricFamily(
            "nemo_limit_refusals", "Requests and jobs refused by a per-user limit", labels=["limit"]
        )
        for limit, count in sorted(self.refused().items()):
            refusals.add_metric([limit], count)
        yield refusals


class Metrics:
    """One worker's metrics, in a registry of its own."""

    def __init__(self, networks: tuple[str, ...]) -> None:
        self.networks = networks
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "nemo_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "nemo_http_request_seconds", "HTTP request time", ["route"], buckets=BUCKETS,
            registry=r,
        )  # fmt: skip
        self.tools = Counter("nemo_tool_calls", "Tool calls", ["tool"], registry=r)
        self.tool_latency = Histogram(
            "nemo_tool_call_seconds", "Tool call time", ["tool"], buckets=BUCKETS, registry=r
        )
        self.jobs = Gauge("nemo_jobs", "Jobs on record", ["kind", "state"], registry=r)
        self.queue = Gauge("nemo_queue_depth", "Jobs waiting for a worker to take them", registry=r)
        self.database_up = Gauge(
            "nemo_database_up", "1 if the database answered this scrape, else 0", registry=r
        )
        self.pool: Any = None
        """The limits' PostgreSQL pool, for the counts read at each scrape (None: SQLite)."""
        self.ping: Callable[[], Any] | None = None
        """Without PostgreSQL: a store call that fails when the store does not answer."""

    def watch(self, adopted: Callable[[], int], refused: Callable[[], Mapping[str, int]]) -> None:
        self.registry.register(Live(adopted, refused))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    async def refresh(self) -> None:
        """Read what lives in the database; ``nemo_database_up`` says whether it answered."""
        try:
            with anyio.fail_after(SCRAPE_TIMEOUT_S):
                if self.pool is not None:
                    await self._read_counts()
                elif self.ping is not None:
                    await self.ping()
            self.database_up.set(1)
        except Exception as exc:
            log.debug("the metrics could not read the database: %s", type(exc).__name__)
            self.database_up.set(0)

    async def _read_counts(self) -> None:
        async with self.pool.connection(timeout=SCRAPE_TIMEOUT_S) as db:
            cur = await db.execute("SELECT kind, status, count(*) FROM nemo_jobs GROUP BY 1, 2")
            rows = await cur.fetchall()
            cur = await db.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
                if await _has_queue(db)
                else "SELECT 0"
            )
            depth = await cur.fetchone()
        self.jobs.clear()
        for kind, state, count in rows:
            self.jobs.labels(kind, state).set(count)
        self.queue.set(depth[0] if depth else 0)

    async def answer(self, request: Request) -> Response:
        if not may_scrape(request.client.host if request.client else None, request.headers,
                          self.networks):  # fmt: skip
            return PlainTextResponse("Not Found", status_code=404)
        await self.refresh()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


async def _has_queue(db: Any) -> bool:
    cur = await db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
    row = await cur.fetchone()
    return bool(row and row[0])


class MetricsMiddleware:
    """Counts and times every HTTP request, and every tool call by the tool its body names."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [0]
        body = bytearray()
        peek = scope["path"] == "/mcp" and scope.get("method") == "POST"

        async def peeking() -> Message:
            message = await receive()
            if peek and message["type"] == "http.request" and len(body) < PEEK_BYTES:
                body.extend(message.get("body", b""))
            return message

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, peeking, observed)
        finally:
            took = time.monotonic() - started
            self.metrics.observe(route_of(scope["path"]), scope.get("method", ""), status[0], took)
            if peek and (tool := tool_of(bytes(body))) is not None:
                self.metrics.tools.labels(tool).inc()
                self.metrics.tool_latency.labels(tool).observe(took)
