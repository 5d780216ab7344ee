"""The authorization server's place in the HTTP app: its routes, and the bearer check it adds.

Routes: the SDK's (``create_auth_routes``: RFC 8414 metadata, ``/authorize``, ``/token``,
``/register``, ``/revoke``; ``create_protected_resource_routes``: RFC 9728 metadata), configured
from an ``AuthSettings`` for the site the request came to, and the sign-in pages (signin.py).
The site is ``NEMO_PUBLIC_URL`` when set, else the address of the request (like download links).

The bearer check: an access token this server issued (``nmo_at_...``) is looked up, its expiry
and audience checked, and exchanged for the user's NemoVideo token, which never left the server;
from there the request goes on exactly as one bearing that token. Any other bearer is taken as a
raw NemoVideo token, as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp.server.auth.routes import (
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from nemo_mcp.remote.auth import Unauthorized
from nemo_mcp.remote.oauth.provider import SITE, Provider, Site
from nemo_mcp.remote.oauth.records import ACCESS_PREFIX, SCOPE, same_resource
from nemo_mcp.remote.oauth.signin import Limits, SignIn, client_address
from nemo_mcp.remote.oauth.store import OAuthStore, SQLiteOAuthStore
from nemo_mcp.remote.users import SEALED_FOR_S, Users
from nemo_mcp.settings import Settings
from nemo_mcp.store import StateStore

log = logging.getLogger("nemo_mcp.remote.oauth")

SDK_PATHS = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-protected-resource",
    "/authorize",
    "/token",
    "/register",
    "/revoke",
)
PAGE_PATHS = ("/oauth/sign-in", "/oauth/anonymous", "/oauth/consent")
PRUNE_EVERY_S = 3600.0
REGISTRATIONS_PER_HOUR = 30
"""Client registrations one address may make per hour (each is a record kept for months)."""
SITES_KEPT = 8


def is_open(path: str) -> bool:
    """Whether ``path`` is the authorization server's (no bearer needed)."""
    return path in SDK_PATHS or path in PAGE_PATHS or path.startswith("/.well-known/")


def is_issued(token: str) -> bool:
    """Whether a bearer is one of our access tokens (else it is a raw NemoVideo token)."""
    return token.startswith(ACCESS_PREFIX)


def site_of(request: Request, public_url: str | None) -> Site:
    if public_url:
        return Site(public_url.rstrip("/"))
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "localhost")
    return Site(f"{proto}://{host}")


def auth_settings(site: Site) -> AuthSettings:
    """What the SDK's routes are built from, as ``MCPServer(auth=...)`` would take it."""
    return AuthSettings(
        issuer_url=site.issuer,  # type: ignore[arg-type]
        resource_server_url=site.resource,  # type: ignore[arg-type]
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
        ),
        revocation_options=RevocationOptions(enabled=True),
        required_scopes=[SCOPE],
        validate_token_resource=True,
    )


class OAuth:
    """The authorization server of one worker: the SDK's routes per site, the pages, the check."""

    def __init__(
        self,
        store: OAuthStore,
        users: Users,
        settings: Settings,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.users = users
        self.public_url = settings.public_url
        self.provider = Provider(store, users.keys, self.renew)
        self.sign_in = SignIn(self.provider, users, limits)
        self._routers: OrderedDict[str, Router | None] = OrderedDict()
        self._tokens: dict[str, str] = {}

    # -- routes ----------------------------------------------------------------------------
    def router(self, site: Site) -> Router | None:
        """The SDK's routes for ``site`` (None when the address cannot be an issuer)."""
        if site.issuer in self._routers:
            self._routers.move_to_end(site.issuer)
            return self._routers[site.issuer]
        try:
            auth = auth_settings(site)
            routes = create_auth_routes(
                self.provider, auth.issuer_url,
                client_registration_options=auth.client_registration_options,
                revocation_options=auth.revocation_options,
            )  # fmt: skip
            assert auth.resource_server_url is not None
            routes += create_protected_resource_routes(
                auth.resource_server_url, [auth.issuer_url], scopes_supported=auth.required_scopes,
                resource_name="NemoVideo through nemo-mcp",
            )  # fmt: skip
            # RFC 9728 also allows the document at the root (clients without the path try it).
            routes.append(Route(SDK_PATHS[2], routes[-1].endpoint, methods=["GET", "OPTIONS"]))
            router: Router | None = Router(routes=routes)
        except ValueError:
            router = None
        self._routers[site.issuer] = router
        while len(self._routers) > SITES_KEPT:
            self._routers.popitem(last=False)
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        site = site_of(request, self.public_url)
        SITE.set(site)
        path = scope["path"]
        if path in PAGE_PATHS:
            handler = {
                ("/oauth/sign-in", "GET"): self.sign_in.show,
                ("/oauth/sign-in", "POST"): self.sign_in.token,
                ("/oauth/anonymous", "POST"): self.sign_in.anonymous,
                ("/oauth/consent", "POST"): self.sign_in.consent,
            }.get((path, request.method))
            if handler is None:
                await JSONResponse({"error": "method not allowed"}, 405)(scope, receive, send)
                return
            await (await handler(request))(scope, receive, send)
            return
        if path == "/register" and request.method == "POST" and await self._too_many(request):
            words = "Too many client registrations from this address; try again in an hour."
            await JSONResponse({"error": "too_many_requests", "error_description": words}, 429,
                               {"Retry-After": "3600"})(scope, receive, send)  # fmt: skip
            return
        router = self.router(site)
        if router is None:
            words = (
                f"Sign-in needs an https address, and this server was reached at {site.issuer}. "
                "Set NEMO_PUBLIC_URL to the server's https address (docs/DEPLOY.md)."
            )
            await JSONResponse({"error": "temporarily_unavailable", "error_description": words},
                               503)(scope, receive, send)  # fmt: skip
            return
        await router(scope, receive, send)

    async def _too_many(self, request: Request) -> bool:
        address = hashlib.sha256(client_address(request).encode()).hexdigest()[:32]
        return await self.store.hit(f"register:{address}", 3600.0) > REGISTRATIONS_PER_HOUR

    def resource_metadata(self, request: Request) -> str:
        """The RFC 9728 document's address, for the 401's ``WWW-Authenticate``."""
        site = site_of(request, self.public_url)
        return str(build_resource_metadata_url(site.resource))  # type: ignore[arg-type]

    # -- the bearer check ------------------------------------------------------------------
    async def nemo_token(self, request: Request, token: str) -> str:
        """The NemoVideo token behind one of our access tokens, or ``Unauthorized`` in words."""
        access = await self.provider.load_access_token(token)
        if access is None:
            raise Unauthorized("This access token is not valid here (revoked, or never issued).")
        if access.expires_at is not None and access.expires_at < time.time():
            raise Unauthorized("This access token has expired: refresh it, or sign in again.")
        site = site_of(request, self.public_url)
        if not same_resource(access.resource, site.resource):
            raise Unauthorized(
                f"This access token was issued for another server, not {site.resource}."
            )
        if (known := self._tokens.get(access.user_key)) is not None:
            return known
        record = await self.users.store.token(self.users.settings.backend_id, access.user_key)
        gone = "The NemoVideo sign-in behind this token is gone: sign in again."
        if record is None:
            raise Unauthorized(gone)
        try:
            nemo = self.users.keys.open(record.token, access.user_key)
        except ValueError:
            raise Unauthorized(gone) from None
        self._tokens[access.user_key] = nemo
        return nemo

    async def refused_behind(self, token: str, signing_in: Awaitable[str]) -> str:
        """The user key, or, when NemoVideo no longer takes the token behind an access token
        (a free anonymous one lasts 7 days), that sign-in ended (its refresh token too, so the
        client signs in again rather than refreshing) and words that say so."""
        try:
            return await signing_in
        except Unauthorized:
            if (access := await self.provider.load_access_token(token)) is not None:
                await self.store.drop_family(access.family)
            raise Unauthorized(
                "NemoVideo no longer accepts the token you signed in with: sign in again."
            ) from None

    async def renew(self, user_key: str) -> bool:
        """Keep the user's sealed token on record as long as their refresh token (30 days)."""
        backend = self.users.settings.backend_id
        record = await self.users.store.token(backend, user_key)
        if record is None:
            return False
        renewed = dataclasses.replace(record, expires_at=time.time() + SEALED_FOR_S)
        await self.users.store.save_token(backend, user_key, renewed)
        return True

    async def prune_forever(self) -> None:
        while True:
            try:
                gone = await self.store.prune()
                if gone:
                    log.info("oauth records pruned", extra={"event": "oauth_prune", "n": gone})
            except Exception:
                log.warning("could not prune the oauth records", exc_info=True)
            await anyio.sleep(PRUNE_EVERY_S)


async def open_oauth_store(settings: Settings, store: StateStore, folder: Path) -> OAuthStore:
    """PostgreSQL (beside the deployment's store, sharing its pool), else a SQLite file."""
    if settings.database_url:
        from nemo_mcp.remote.oauth.pg import PostgresOAuthStore
        from nemo_mcp.remote.pg_store import PostgresStore

        assert isinstance(store, PostgresStore)
        return await PostgresOAuthStore(store.pool).open()
    return SQLiteOAuthStore.in_folder(folder)


class _Forward:
    """An ASGI endpoint (an object, so Starlette does not take it for a request handler)."""

    def __init__(self, current: Callable[[], OAuth | None]) -> None:
        self.current = current

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        oauth = self.current()
        if oauth is None:
            await JSONResponse({"error": "the server is starting"}, 503)(scope, receive, send)
            return
        await oauth(scope, receive, send)


def routes(current: Callable[[], OAuth | None]) -> list[Route]:
    """The routes of the authorization server, answered by the worker's ``OAuth`` once it runs."""
    forward = _Forward(current)
    methods = ["GET", "POST", "OPTIONS"]
    return [Route(path, forward, methods=methods) for path in (*SDK_PATHS, *PAGE_PATHS)]
