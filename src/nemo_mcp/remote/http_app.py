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
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
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
from nemo_mcp.errors import BackendUnreachable, StoreUnavailable, TokenInvalid
from nemo_mcp.manifests import Manifest
from nemo_mcp.remote.auth import Keys, Unauthorized, bearer, challenge
from nemo_mcp.remote.drain import Lifecycle, let_jobs_finish, release, take_work
from nemo_mcp.remote.files import receive_upload, send_download
from nemo_mcp.remote.leftovers import tidy
from nemo_mcp.remote.limits import Limits, open_limits
from nemo_mcp.remote.metrics import Metrics, MetricsMiddleware
from nemo_mcp.remote.oauth import OAuth, is_issued, is_open, open_oauth_store
from nemo_mcp.remote.oauth.gate import routes as oauth_routes
from nemo_mcp.remote.outage import answers, unavailable
from nemo_mcp.remote.retention import keep_pruning
from nemo_mcp.remote.startup import ready_line, store_words
from nemo_mcp.remote.supervise import supervised
from nemo_mcp.remote.sweep import sweep
from nemo_mcp.remote.users import CURRENT_BASE, CURRENT_TOKEN, Users
from nemo_mcp.server import served, skill_server
from nemo_mcp.settings import Resilience, Settings
from nemo_mcp.store import SQLiteStore, StateStore
from nemo_mcp.store.lease import process_holder
from nemo_mcp.store.sqlite import STATE_FILE
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.registry import register
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.uploads import heic_available

log = logging.getLogger("nemo_mcp.remote")

OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
VERIFIED_FOR_S = 600.0
"""A token the backend accepted is not asked about again for this long (per worker)."""


@dataclass
class Shared:
    """What the lifespan built, for the routes and the MCP handlers."""

    users: Users | None = None
    store: StateStore | None = None
    oauth: OAuth | None = None
    limits: Limits | None = None
    verified: dict[str, float] = field(default_factory=dict)

    def need(self) -> Users:
        if self.users is None:
            raise LookupError("the server is not running")
        return self.users


async def open_store(settings: Settings, resilience: Resilience | None = None) -> StateStore:
    if settings.database_url:
        from nemo_mcp.remote.pg_store import PostgresStore

        return await PostgresStore(settings.database_url, resilience=resilience).open()
    return SQLiteStore.in_folder(settings.config_dir)


def data_dir(settings: Settings) -> Path:
    return settings.remote_dir or settings.config_dir / "remote"


def build_app(
    manifests: Manifest | Mapping[str, Manifest],
    settings: Settings,
    *,
    host: str,
    port: int | None = None,
    resilience: Resilience | None = None,
    lifecycle: Lifecycle | None = None,
) -> Starlette:
    if not settings.server_key:
        raise ValueError("NEMO_SERVER_KEY must be set to serve over HTTP (see docs/DEPLOY.md)")
    keys = Keys.from_setting(settings.server_key)
    shared = Shared()
    resilience = resilience or Resilience()
    life = lifecycle or Lifecycle()
    metrics = Metrics(settings.metrics_from)
    metrics.watch(
        lambda: shared.users.jobs.adopted if shared.users else 0,
        lambda: shared.limits.refused if shared.limits else {},
    )

    @asynccontextmanager
    async def mcp_lifespan(server: MCPServer[Users]) -> AsyncIterator[Users]:
        yield shared.need()

    skills = served(manifests)
    texts = ToolTexts.for_manifests(
        skills, settings, Deployment.of(settings, many_users=True), heic=heic_available()
    )
    # The player loads exports from this server's own /downloads (signed links), not the backend.
    media = lambda: settings.public_url or CURRENT_BASE.get("") or settings.api_url  # noqa: E731
    mcp = skill_server(skills, texts, mcp_lifespan, media)

    def current() -> Runtime:
        return shared.need().current()

    register(mcp, skills, texts, current)  # type: ignore[arg-type]
    transport = mcp.streamable_http_app(stateless_http=True, host=host)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started = False
        try:
            async with AsyncExitStack() as stack:
                store = await open_store(settings, resilience)
                stack.push_async_callback(store.close)
                engine = None
                if settings.database_url:
                    from nemo_mcp.remote.dispatch import CONCURRENCY, Engine, apply_schema
                    from nemo_mcp.remote.notify import Notifier

                    await apply_schema(settings.database_url)
                    notifier = Notifier(settings.database_url, resilience)
                    await notifier.install()
                    engine = Engine(settings.database_url, resilience=resilience)
                    engine = await stack.enter_async_context(engine.opened())
                held: list[str] = []
                stack.push_async_callback(release, store, held)

                async def close_users() -> None:
                    # After the task group: jobs are cancelled (left on record) before their
                    # clients close, so none of them fails for a client closed under it.
                    if shared.users is not None:
                        await shared.users.close()
                        shared.users = None

                stack.push_async_callback(close_users)
                limits = await open_limits(settings, store, stack)
                tg = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(tg.cancel_scope.cancel)
                users = Users(
                    settings, skills, store, keys, tg, holder=process_holder(),
                    data_dir=data_dir(settings), dispatch=engine.dispatch if engine else None,
                    admit=limits.admit,
                )  # fmt: skip
                # Shutting down: the jobs held get NEMO_TOOL_WAIT to end, the rest is released.
                stack.callback(lambda: held.extend(users.jobs.held()))
                stack.push_async_callback(let_jobs_finish, users.jobs.held, settings.tool_wait)
                users.trust_lost = lambda key: shared.verified.pop(key, None)
                shared.users, shared.store, shared.limits = users, store, limits
                metrics.pool, metrics.ping = limits.pool, lambda: store.job("metrics")
                oauth_store = await open_oauth_store(settings, store, data_dir(settings))
                stack.push_async_callback(oauth_store.close)
                shared.oauth = OAuth(oauth_store, users, settings)
                # Every loop is supervised: no fault of the database ends the lifespan.
                keep = partial(supervised, backoff_max=resilience.backoff_max)
                tg.start_soon(keep, "the OAuth prune", shared.oauth.prune_forever)
                if engine is not None:
                    engine.jobs = users.jobs
                    users.jobs.wake = notifier.wait
                    tg.start_soon(keep, "listening for job changes", notifier.listen)
                    work = partial(engine.work, process_holder())
                    tg.start_soon(take_work, life, partial(keep, "the job engine", work))
                tg.start_soon(keep, "the sweep", partial(sweep, store, users.jobs, engine))
                tidying = partial(tidy, data_dir(settings), resilience.part_idle)
                tg.start_soon(keep, "the partial-upload tidy", tidying)
                pruning = partial(
                    keep_pruning, data_dir(settings), store, limits.pool, settings.backend_id,
                    tuple(skills),
                )  # fmt: skip
                tg.start_soon(keep, "the pass over old files", pruning)
                async with mcp.session_manager.run():
                    line = ready_line(
                        ",".join(skills), f"http://{host}:{port}" if port else f"http://{host}",
                        store_words(settings, settings.config_dir / STATE_FILE),
                        CONCURRENCY if engine is not None else 0, settings,
                    )  # fmt: skip
                    log.info(line, extra={"event": "start", "skill": ",".join(skills)})
                    started = True
                    yield
        except Exception as exc:
            if started:  # serving stopped for good: exit, so the supervisor starts a new one
                life.fatal(exc)
            raise

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        ready = not life.draining and await answers(shared.store, shared.users is not None)
        headers = {} if ready else {"Retry-After": "5"}
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503, headers=headers)

    async def uploads(request: Request) -> Response:
        return await receive_upload(request, shared.need(), request.state.user_key)

    async def downloads(request: Request) -> Response:
        user_key = getattr(request.state, "user_key", None)  # None: a signed link's turn
        return await send_download(request, shared.need(), user_key)

    routes: list[BaseRoute] = [
        *transport.routes,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics.answer, methods=["GET"]),
        Route("/uploads", uploads, methods=["POST"]),
        Route("/downloads/{name}", downloads, methods=["GET", "HEAD"]),
        *oauth_routes(lambda: shared.oauth),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(BearerMiddleware, shared=shared)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: sees 401s and 429s too
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
            request = Request(scope)
            if path in OPEN_PATHS or is_open(path) or signed_link(request):
                await self.app(scope, receive, observed)
                return
            try:
                token = bearer(request.headers.get("authorization"))
                if is_issued(token) and (issuer := self.shared.oauth) is not None:
                    issued, token = token, await issuer.nemo_token(request, token)
                    user = await issuer.refused_behind(issued, self._sign_in(token))
                else:
                    user = await self._sign_in(token)
            except (StoreUnavailable, BackendUnreachable) as exc:
                # The token cannot be checked now (database or backend away): a 503 in words.
                await unavailable(exc)(scope, receive, observed)
                return
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
            if self.shared.limits and (refusal := await self.shared.limits.request(user)):
                wait, words = refusal
                busy = JSONResponse(
                    {"error": words}, status_code=429, headers={"Retry-After": str(wait)}
                )
                await busy(scope, receive, observed)
                return
            scope.setdefault("state", {})["user_key"] = user
            CURRENT_TOKEN.set(token)
            CURRENT_BASE.set(_base(request))
            try:
                await _until_disconnect(self.app, scope, receive, observed)
            except StoreUnavailable as exc:
                if status[0]:  # the answer had begun: nothing more can be said
                    raise
                await unavailable(exc)(scope, receive, observed)
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


def signed_link(request: Request) -> bool:
    """A download without a header whose link carries a signature (checked by the route)."""
    return (
        request.method in ("GET", "HEAD")
        and request.url.path.startswith("/downloads/")
        and "authorization" not in request.headers
        and "sig" in request.query_params
    )


def _base(request: Request) -> str:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "localhost")
    return f"{proto}://{host}"
