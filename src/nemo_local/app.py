"""The local backend as an ASGI app: routes, the envelope for every refusal, fault switches at the
door, request counters, and the admin routes only the local backend has (``/_local/...``, no
auth: it listens on loopback).

Layers, outermost first: counters (``StatsMiddleware``) -> guard (an unexpected exception becomes
a 500 envelope, logged) -> faults (``slow_ms``, ``expire_token``, ``rate_limit_next``, the door
switches of ``misbehave``) -> routes
(``ApiError`` and Starlette's 404/405 become envelopes).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_local import api_errors, messages
from nemo_local.api import Api, read_object
from nemo_local.api_errors import ApiError, error_response
from nemo_local.context import Backend
from nemo_local.misbehave import EchoAndCut, at_the_door
from nemo_local.stats import StatsMiddleware

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_local/"


class GuardMiddleware:
    """Never a traceback to the client: an unexpected exception before the answer started becomes
    a 500 envelope (and a log line); after it started, the server cuts the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log.debug("client went away during %s %s", scope["method"], scope["path"])
        except Exception:
            if started:
                raise
            log.exception("unexpected error in %s %s", scope["method"], scope["path"])
            error = ApiError(api_errors.INTERNAL, "Internal error in the local backend.")
            await error_response(error)(scope, receive, send)


class FaultMiddleware:
    """The switches that act at the door, before any route runs."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.backend.faults
        if faults.slow_ms:
            await anyio.sleep(faults.slow_ms / 1000)
        await EchoAndCut(self._door, faults)(scope, receive, send)

    async def _door(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.backend.faults
        path = scope.get("path", "")
        if path.startswith("/api/") or path == "/run_sse":
            if faults.take("expire_token"):
                self.backend.store.expire_all_tokens()
            if faults.take_rate_limit():
                error = ApiError(
                    api_errors.RATE_LIMITED,
                    "Too many requests; wait and try again.",
                    headers={"Retry-After": str(faults.retry_after_s)},
                )
                await error_response(error)(scope, receive, send)
                return
            if await at_the_door(faults, scope, receive, send):
                return
        await self.app(scope, receive, send)


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    words = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    message = f"{words}: {request.method} {request.url.path}"
    return error_response(ApiError(exc.status_code, message, headers=dict(exc.headers or {})))


class Admin:
    """``/_local/faults``, ``/_local/stats``, ``/_local/reset-stats`` and ``/_local/idle``."""

    def __init__(self, backend: Backend) -> None:
        self.b = backend

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            changes = await read_object(request)
            try:
                self.b.faults.update(changes)
            except ValueError as exc:
                raise ApiError(api_errors.BAD_REQUEST, str(exc)) from exc
            log.info("fault switches changed: %s", ", ".join(sorted(changes)))
        return JSONResponse(self.b.faults.snapshot())

    async def idle(self, request: Request) -> Response:
        """Whether no message turn is running; ``?wait=S`` holds the answer up to S seconds until
        that is so (tests wait for work a client walked away from, without polling)."""
        try:
            wait = min(float(request.query_params.get("wait", "0")), 60.0)
        except ValueError as exc:
            raise ApiError(api_errors.BAD_REQUEST, "'wait' must be a number of seconds.") from exc
        with anyio.move_on_after(wait):
            await self.b.runner.wait_idle()
        return JSONResponse({"idle": self.b.runner.running == 0, "turns": self.b.runner.running})

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self.b.stats.snapshot())

    async def reset_stats(self, request: Request) -> Response:
        self.b.stats.reset()
        return JSONResponse({"reset": True})


def build_app(backend: Backend) -> Starlette:
    """The ASGI app serving ``backend``."""
    api, admin = Api(backend), Admin(backend)

    async def run_sse(request: Request) -> Response:
        return await messages.run_sse(api, request)

    def post(path: str, endpoint: Any, name: str) -> Route:
        return Route(path, endpoint, methods=["POST"], name=name)

    def get(path: str, endpoint: Any, name: str) -> Route:
        return Route(path, endpoint, methods=["GET"], name=name)

    routes = [
        post("/api/auth/anonymous-token", api.anonymous_token, "anonymous_token"),
        post("/api/auth/claim-token", api.claim_token, "claim_token"),
        post("/api/tasks/me/with-session/nemo_agent", api.create_session, "session_create"),
        get("/api/credits/balance/simple", api.credits, "credits"),
        post("/api/upload-video/nemo_agent/me/{session_id}", api.upload, "upload"),
        get("/api/state/nemo_agent/me/{session_id}/latest", api.state, "state"),
        get("/api/local/draft-picture/{session_id}", api.draft_picture, "draft_picture"),
        post("/run_sse", run_sse, "run_sse"),
        post("/api/render/proxy/lambda", api.render_submit, "render_submit"),
        get("/api/render/proxy/lambda/{render_id}", api.render_status, "render_status"),
        get("/api/render/proxy/{render_id}/download", api.render_download, "render_download"),
        get("/files/renders/{name}", api.render_file, "render_file"),
        get("/files/media/{name}", api.media_file, "media_file"),
        Route("/_local/faults", admin.faults, methods=["GET", "POST"], name="admin_faults"),
        get("/_local/stats", admin.stats, "admin_stats"),
        get("/_local/idle", admin.idle, "admin_idle"),
        post("/_local/reset-stats", admin.reset_stats, "admin_reset_stats"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with backend.running():
            yield

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(StatsMiddleware, stats=backend.stats),
            Middleware(GuardMiddleware),
            Middleware(FaultMiddleware, backend=backend),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
