"""The SDK's ``OAuthAuthorizationServerProvider`` for this server: clients, codes, tokens.

The SDK's handlers (``mcp.server.auth``) speak the protocol: they parse and check requests (PKCE
S256, the exact redirect URI, the client's secret, expiry) and call this provider to remember and
issue. What the provider adds:

- ``authorize`` sends the browser to our own sign-in page (signin.py), with the request kept in
  the store under a random handle; ``issue_code`` is called by that page once the user signed in
  and agreed.
- Every token maps to a *user key* (remote/auth.py): the user's NemoVideo token stays sealed in
  the server's store and is never given to the client.
- Codes and refresh tokens work once. Replaying one ends every token of that sign-in.
- Tokens are bound to this server's resource (RFC 8707): a request for another resource is
  refused, and the gate (gate.py) checks the audience of each access token.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, ValidationError

from nemo_mcp.remote.auth import Keys
from nemo_mcp.remote.oauth.records import (
    ACCESS_PREFIX,
    ACCESS_TTL_S,
    CLIENT_TTL_S,
    CODE_PREFIX,
    CODE_TTL_S,
    MAX_REDIRECT_URIS,
    REFRESH_PREFIX,
    REFRESH_TTL_S,
    REQUEST_PREFIX,
    REQUEST_TTL_S,
    Row,
    digest,
    is_s256_challenge,
    new_family,
    new_secret,
    redirect_uri_refusal,
    same_resource,
)
from nemo_mcp.remote.oauth.store import OAuthStore

CLIENT_SEAL = "oauth-client"
"""What a client secret is sealed for (the SDK compares secrets, so they are kept sealed)."""


@dataclass(frozen=True)
class Site:
    """The address this server answers at: the issuer, and the resource its tokens are for."""

    issuer: str

    @property
    def resource(self) -> str:
        return f"{self.issuer}/mcp"


SITE: contextvars.ContextVar[Site] = contextvars.ContextVar("nemo_oauth_site")
"""The site of the request being served (set by the routes, from NEMO_PUBLIC_URL or the request)."""


class Code(AuthorizationCode):
    family: str
    user_key: str
    used: bool = False


class Refresh(RefreshToken):
    family: str
    user_key: str
    used: bool = False


class Access(AccessToken):
    family: str
    user_key: str


Renew = Callable[[str], Awaitable[bool]]
"""Keep the user's sealed NemoVideo token on record for longer; False when it is gone."""


class Provider(OAuthAuthorizationServerProvider[Code, Refresh, Access]):
    """The SDK's provider over an ``OAuthStore`` (the jwt-bearer grant stays the SDK's refusal)."""

    def __init__(self, store: OAuthStore, keys: Keys, renew: Renew) -> None:
        self.store = store
        self.keys = keys
        self.renew = renew

    # -- clients ---------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        row = await self.store.get("client", client_id)
        if row is None or row.expired(time.time()):
            return None
        data = row.data()
        sealed = data.pop("sealed_secret", None)
        if isinstance(sealed, str):
            data["client_secret"] = self.keys.open(sealed, CLIENT_SEAL + client_id)
        try:
            return OAuthClientInformationFull.model_validate(data)
        except ValidationError:
            return None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris:
            raise RegistrationError("invalid_redirect_uri", "register at least one redirect URI")
        if len(uris) > MAX_REDIRECT_URIS:
            raise RegistrationError(
                "invalid_redirect_uri", f"register at most {MAX_REDIRECT_URIS} redirect URIs"
            )
        for uri in uris:
            if (why := redirect_uri_refusal(uri)) is not None:
                raise RegistrationError("invalid_redirect_uri", why)
        data = client_info.model_dump(mode="json", exclude_none=True)
        secret = data.pop("client_secret", None)
        if isinstance(secret, str):
            data["sealed_secret"] = self.keys.seal(secret, CLIENT_SEAL + client_info.client_id)
        row = Row(json.dumps(data), "", time.time() + CLIENT_TTL_S)
        await self.store.put("client", client_info.client_id, row)

    # -- the browser's part ----------------------------------------------------------------
    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        site = SITE.get()
        if params.resource is not None and not same_resource(params.resource, site.resource):
            raise AuthorizeError(
                "invalid_target",
                f"this server signs in only for its own address, {site.resource}",
            )
        if not params.state:
            raise AuthorizeError(
                "invalid_request", "the client sent no 'state'; this server requires one"
            )
        if not is_s256_challenge(params.code_challenge):
            raise AuthorizeError(
                "invalid_request",
                "PKCE is required: code_challenge must be the S256 hash of a code verifier "
                "(43 base64url characters)",
            )
        handle = new_secret(REQUEST_PREFIX)
        request = {
            "client_id": client.client_id,
            "client_name": client.client_name or "",
            "redirect_uri": str(params.redirect_uri),
            "explicit": params.redirect_uri_provided_explicitly,
            "state": params.state,
            "scopes": params.scopes or [],
            "code_challenge": params.code_challenge,
            "resource": site.resource,
        }
        row = Row(json.dumps(request), "", time.time() + REQUEST_TTL_S)
        await self.store.put("request", digest(handle), row)
        return f"{site.issuer}/oauth/sign-in?request={handle}"

    async def issue_code(self, request: dict[str, Any], user_key: str) -> str:
        """A new authorization code for a request the user signed in to and agreed to."""
        code = new_secret(CODE_PREFIX)
        record = {
            "client_id": request["client_id"],
            "redirect_uri": request["redirect_uri"],
            "explicit": request["explicit"],
            "scopes": request["scopes"],
            "code_challenge": request["code_challenge"],
            "resource": request["resource"],
            "user_key": user_key,
        }
        row = Row(json.dumps(record), new_family(), time.time() + CODE_TTL_S)
        await self.store.put("code", digest(code), row)
        return code

    # -- codes -----------------------------------------------------------------------------
    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> Code | None:
        row = await self.store.get("code", digest(authorization_code))
        if row is None:
            return None
        data = row.data()
        return Code(
            code=authorization_code, scopes=data["scopes"], expires_at=row.expires_at,
            client_id=data["client_id"], code_challenge=data["code_challenge"],
            redirect_uri=AnyUrl(data["redirect_uri"]),
            redirect_uri_provided_explicitly=data["explicit"], resource=data["resource"],
            subject=data["user_key"], family=row.family, user_key=data["user_key"],
            used=row.used,
        )  # fmt: skip

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: Code
    ) -> OAuthToken:
        if not await self.store.use("code", digest(authorization_code.code)):
            await self.store.drop_family(authorization_code.family)
            raise TokenError(
                "invalid_grant",
                "this sign-in code was used already (a code works once); the tokens it gave "
                "are now revoked, so sign in again",
            )
        return await self._issue(
            authorization_code.family, client.client_id, authorization_code.scopes,
            authorization_code.resource or SITE.get().resource, authorization_code.user_key,
        )  # fmt: skip

    # -- refresh tokens --------------------------------------------------------------------
    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> Refresh | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        row = await self.store.get("refresh", digest(refresh_token))
        if row is None:
            return None
        data = row.data()
        return Refresh(
            token=refresh_token, client_id=data["client_id"], scopes=data["scopes"],
            expires_at=int(row.expires_at), resource=data["resource"],
            subject=data["user_key"], family=row.family, user_key=data["user_key"],
            used=row.used,
        )  # fmt: skip

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: Refresh, scopes: list[str]
    ) -> OAuthToken:
        if not await self.store.use("refresh", digest(refresh_token.token)):
            await self.store.drop_family(refresh_token.family)
            raise TokenError(
                "invalid_grant",
                "this refresh token was used already (each works once); every token of this "
                "sign-in is now revoked, so sign in again",
            )
        if not await self.renew(refresh_token.user_key):
            await self.store.drop_family(refresh_token.family)
            raise TokenError(
                "invalid_grant", "the NemoVideo sign-in behind this token is gone; sign in again"
            )
        resource = refresh_token.resource or SITE.get().resource
        return await self._issue(
            refresh_token.family, client.client_id, scopes, resource, refresh_token.user_key
        )

    # -- access tokens ---------------------------------------------------------------------
    async def load_access_token(self, token: str) -> Access | None:
        if not token.startswith(ACCESS_PREFIX):
            return None
        row = await self.store.get("access", digest(token))
        if row is None:
            return None
        data = row.data()
        return Access(
            token=token, client_id=data["client_id"], scopes=data["scopes"],
            expires_at=int(row.expires_at), resource=data["resource"],
            subject=data["user_key"], family=row.family, user_key=data["user_key"],
        )  # fmt: skip

    async def revoke_token(self, token: Access | Refresh) -> None:
        await self.store.drop_family(token.family)

    async def _issue(
        self, family: str, client_id: str, scopes: list[str], resource: str, user_key: str
    ) -> OAuthToken:
        now = time.time()
        access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
        body = json.dumps(
            {"client_id": client_id, "scopes": scopes, "resource": resource, "user_key": user_key}
        )
        await self.store.put("access", digest(access), Row(body, family, now + ACCESS_TTL_S))
        await self.store.put("refresh", digest(refresh), Row(body, family, now + REFRESH_TTL_S))
        return OAuthToken(
            access_token=access,
            expires_in=int(ACCESS_TTL_S),
            scope=" ".join(scopes) or None,
            refresh_token=refresh,
        )
