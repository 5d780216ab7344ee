"""The ASGI application of ``serve --http``: MCP over streamable HTTP, stateless, for many users.

Routes: ``/mcp`` (the SDK's streamable HTTP transport, stateless: any worker answers any
request, no sticky sessions), ``POST /uploads`` and ``GET /downloads/<name>`` (files.py),
``/healthz`` (the process answers) and ``/readyz`` (the store answers), and the OAuth
authorization server's metadata, endpoints and sign-in page (oauth/). Everything else needs
``Authorization: Bearer <token>``: the user's NemoVideo token, or an access token the OAuth
sign-in issued; a missing or malformed one, or one refused, is a 401 whose ``WWW-Authenticate``
points OAuth clients at the protected-resource metadata.

The lifespan owns what every request shares: the store (PostgreSQL when ``NEMO_DATABASE_URL``
is set), the task group jobs run in, the users, and the sweep that takes over the work of a
worker that died (sweep.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp import __version__
from nemo_mcp.deployment import Deployment
from nemo_mcp.errors import TokenInvalid
from nemo_mcp.manifests import Manifest
from nemo_mcp.remote.auth import Keys, Unauthorized, bearer, challenge
from nemo_mcp.remote.files import receive_upload, send_download
from nemo_mcp.remote.oauth import OAuth, is_issued, is_open, open_oauth_store
from nemo_mcp.remote.oauth.gate import routes as oauth_routes
from nemo_mcp.remote.sweep import sweep
from nemo_mcp.remote.users import CURRENT_BASE, CURRENT_TOKEN, Users
from nemo_mcp.server import skill_server
from nemo_mcp.settings import Settings
from nemo_mcp.store import SQLiteStore, StateStore
from nemo_mcp.store.lease import process_holder
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.registry import register
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.uploads import heic_available

log = logging.getLogger("nemo_mcp.remote")

OPEN_PATHS = ("/healthz", "/readyz")
VERIFIED_FOR_S = 600.0
"""A token the backend accepted is not asked about again for this long (per worker)."""


@dataclass
class Shared:
    """What the lifespan built, for the routes and the MCP handlers."""

    users: Users | None = None
    store: StateStore | None = None
    oauth: OAuth | None = None
    verified: dict[str, float] = field(default_factory=dict)

    def need(self) -> Users:
        if self.users is None:
            raise LookupError("the server is not running")
        return self.users


async def open_store(settings: Settings) -> StateStore:
    if settings.database_url:
        from nemo_mcp.remote.pg_store import PostgresStore

        return await PostgresStore(settings.database_url).open()
    return SQLiteStore.in_folder(settings.config_dir)


def data_dir(settings: Settings) -> Path:
    return settings.remote_dir or settings.config_dir / "remote"


def build_app(manifest: Manifest, settings: Settings, *, host: str) -> Starlette:
    if not settings.server_key:
        raise ValueError("NEMO_SERVER_KEY must be set to serve over HTTP (see docs/DEPLOY.md)")
    keys = Keys.from_setting(settings.server_key)
    shared = Shared()

    @asynccontextmanager
    async def mcp_lifespan(server: MCPServer[Users]) -> AsyncIterator[Users]:
        yield shared.need()

    texts = ToolTexts.for_manifest(
        manifest, settings, Deployment.of(settings, many_users=True), heic=heic_available()
    )
    mcp = skill_server(manifest, texts, mcp_lifespan, lambda: settings.api_url)

    def current() -> Runtime:
        return shared.need().current()

    register(mcp, manifest, texts, current)  # type: ignore[arg-type]
    transport = mcp.streamable_http_app(stateless_http=True, host=host)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = await open_store(settings)
            stack.push_async_callback(store.close)
            engine = None
            if settings.database_url:
                from nemo_mcp.remote.dispatch import Engine, apply_schema

                await apply_schema(settings.database_url)
                engine = await stack.enter_async_context(Engine(settings.database_url).opened())

            async def close_users() -> None:
                # After the task group: jobs are cancelled (left on record) before their
                # clients close, so none of them fails for a client closed under it.
                if shared.users is not None:
                    await shared.users.close()
                    shared.users = None

            stack.push_async_callback(close_users)
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            users = Users(
                settings, manifest, store, keys, tg, holder=process_holder(),
                data_dir=data_dir(settings), dispatch=engine.dispatch if engine else None,
            )  # fmt: skip
            shared.users, shared.store = users, store
            oauth_store = await open_oauth_store(settings, store, data_dir(settings))
            stack.push_async_callback(oauth_store.close)
            shared.oauth = OAuth(oauth_store, users, settings)
            tg.start_soon(shared.oauth.prune_forever)
            if engine is not None:
                engine.jobs = users.jobs
                tg.start_soon(engine.work, process_holder())
            tg.start_soon(sweep, store, users.jobs, engine)
            async with mcp.session_manager.run():
                log.info("ready", extra={"event": "start", "skill": manifest.name})
                yield

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        store = shared.store
        ready = False
        if store is not None and shared.users is not None:
            try:
                with anyio.fail_after(3):
                    await store.job("readyz")
                ready = True
            except Exception:
                ready = False
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def uploads(request: Request) -> Response:
        return await receive_upload(request, shared.need(), request.state.user_key)

    async def downloads(request: Request) -> Response:
        return await send_download(request, shared.need(), request.state.user_key)

    routes: list[BaseRoute] = [
        *transport.routes,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/uploads", uploads, methods=["POST"]),
        Route("/downloads/{name}", downloads, methods=["GET"]),
        *oauth_routes(lambda: shared.oauth),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(BearerMiddleware, shared=shared)
    return app


class BearerMiddleware:
    """Every request but the health checks bears a token the backend accepts; logs each one."""

    def __init__(self, app: ASGIApp, shared: Shared) -> None:
        self.app = app
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        path: str = scope["path"]
        status: list[int] = [0]

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        user = ""
        try:
            if path in OPEN_PATHS or is_open(path):
                await self.app(scope, receive, observed)
                return
            request = Request(scope)
            try:
                token = bearer(request.headers.get("authorization"))
                if is_issued(token) and self.shared.oauth is not None:
                    token = await self.shared.oauth.nemo_token(request, token)
                user = await self._sign_in(token)
            except Unauthorized as exc:
                oauth = self.shared.oauth
                metadata = oauth.resource_metadata(request) if oauth is not None else None
                response = JSONResponse(
                    {"error": str(exc)},
                    status_code=401,
                    headers={"WWW-Authenticate": challenge(str(exc), metadata)},
                )
                await response(scope, receive, observed)
                return
            scope.setdefault("state", {})["user_key"] = user
            CURRENT_TOKEN.set(token)
            CURRENT_BASE.set(_base(request))
            await _until_disconnect(self.app, scope, receive, observed)
        finally:
            log.info(
                "request",
                extra={
                    "event": "request", "method": scope.get("method"), "path": path,
                    "status": status[0], "ms": round((time.monotonic() - started) * 1000, 1),
                    "user": user[:12],
                },
            )  # fmt: skip

    async def _sign_in(self, token: str) -> str:
        users = self.shared.need()
        key = await users.sign_in(token)
        if time.monotonic() - self.shared.verified.get(key, -VERIFIED_FOR_S) < VERIFIED_FOR_S:
            return key
        try:
            await users.verify(key, token)
        except TokenInvalid:
            raise Unauthorized("The backend does not accept this token.") from None
        self.shared.verified[key] = time.monotonic()
        return key


async def _until_disconnect(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the request, cancelled when its client goes away (the streaming response notices).

    A tool call whose client is gone must not take a finished result: handed to nobody, it
    would be lost. Cancelled, it leaves the result on record for the next call."""
    with anyio.CancelScope() as request_scope:

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                request_scope.cancel()
            return message

        await app(scope, watched, send)


def _base(request: Request) -> str:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "localhost")
    return f"{proto}://{host}"
