"""Who we are to the backend: the ``X-Client-Id`` and the bearer token.

The token is the user's ``NEMO_TOKEN`` when set (never replaced), else an anonymous one: cached in
the store, shared by every process on the config folder, and fetched by one of them only (the
cloud grants one per client per 7 days). A refused anonymous token is renewed with the same client
id; an HTTP 400 on the token call (missing client id) gets a new id, persisted. Every token is
registered with ``redact`` the moment it is known.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio

from nemo_mcp.backend.http import ApiHttp
from nemo_mcp.backend.refusals import retry_refused
from nemo_mcp.errors import BackendError, ClientIdMissing, RateLimited, ServerFault
from nemo_mcp.redact import register_secret
from nemo_mcp.settings import Settings
from nemo_mcp.store import (
    StateStore,
    TokenRecord,
    ensure_client_id,
    replace_client_id,
)
from nemo_mcp.store.lease import single_flight

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/auth/anonymous-token"
TOKEN_LIFETIME_S = 7 * 24 * 3600.0
LEASE_MARGIN_S = 5.0

Sleep = Callable[[float], Awaitable[None]]


class Credentials:
    """The client id and the bearer token for one backend (and one user of it)."""

    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        http: ApiHttp,
        *,
        backend_id: str,
        holder: str,
        user: str = "",
        token: str | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._settings = settings
        self._store = store
        self._http = http
        self._backend_id = backend_id
        self._user = user
        self._holder = holder
        self._sleep = sleep
        self._own_token = token if token is not None else settings.token
        self._cached: TokenRecord | None = None
        self._lock = anyio.Lock()
        if token is None:
            # The configured token. One handed in (a shared server's user) is registered by
            # whoever had the backend check it first (remote/users.py): see redact.py.
            register_secret(self._own_token)

    @property
    def anonymous(self) -> bool:
        """True when working on a free anonymous token (no token of the user's own)."""
        return self._own_token is None

    def client_id(self) -> str:
        return self._settings.client_id or ensure_client_id(self._settings.config_dir)

    async def backoff(self, refusal: BackendError) -> None:
        """The wait before the one retry after a 429."""
        wait = self._settings.retry_after
        log.info("rate limited; waiting %.1f s before the one retry", wait)
        await self._sleep(wait)

    async def token(self) -> str:
        """The bearer token: the user's own, else a valid cached or newly fetched anonymous one."""
        if self._own_token is not None:
            return self._own_token
        if self._cached and self._cached.valid():
            return self._cached.token
        async with self._lock:
            if not (self._cached and self._cached.valid()):
                self._cached = await self._shared(stale=None)
            return self._cached.token

    async def renew(self, stale: str) -> None:
        """After a 1001 for ``stale``: a token that is not it (another process may have one)."""
        async with self._lock:
            if self._cached and self._cached.token != stale:
                return
            log.info("the anonymous token was refused; obtaining a new one")
            self._cached = await self._shared(stale=stale)

    async def _shared(self, stale: str | None) -> TokenRecord:
        async def find() -> TokenRecord | None:
            record = await self._store.token(self._backend_id, self._user)
            if record is None or not record.valid() or record.token == stale:
                return None
            register_secret(record.token)
            return record

        async def make() -> TokenRecord:
            record = await self._fetch()
            await self._store.save_token(self._backend_id, self._user, record)
            return record

        ttl = self._settings.request_timeout + self._settings.retry_after + LEASE_MARGIN_S
        return await single_flight(
            self._store,
            f"token {self._backend_id} {self._user}",
            self._holder,
            find=find,
            make=make,
            ttl=ttl,
        )

    async def _fetch(self) -> TokenRecord:
        client_id = self.client_id()

        async def attempt() -> object:
            request = self._http.build(
                "POST", TOKEN_PATH, token=None, headers={"X-Client-Id": client_id}
            )
            return await self._http.call(request)

        async def new_client_id(_: BackendError) -> None:
            nonlocal client_id
            client_id = replace_client_id(self._settings.config_dir)

        data = await retry_refused(
            attempt, {ClientIdMissing: new_client_id, RateLimited: self.backoff}
        )
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ServerFault("the anonymous-token answer had no token")
        register_secret(token)
        lifetime = data.get("expires_in") if isinstance(data, dict) else None
        seconds = float(lifetime) if isinstance(lifetime, int | float) else TOKEN_LIFETIME_S
        credits = data.get("credits", "?") if isinstance(data, dict) else "?"
        log.info("obtained an anonymous token (%s credits)", credits)
        return TokenRecord(token=token, expires_at=time.time() + seconds, client_id=client_id)
