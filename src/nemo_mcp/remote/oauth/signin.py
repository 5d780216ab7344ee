"""The sign-in page's routes: the user pastes a NemoVideo token or takes an anonymous one, agrees.

``GET /oauth/sign-in?request=...`` shows the page for a request ``/authorize`` kept (provider.py).
``POST /oauth/sign-in`` checks the pasted token with NemoVideo before anything is issued;
``POST /oauth/anonymous`` obtains a free anonymous token for the user; both then show the consent
page, and ``POST /oauth/consent`` sends the browser back to the client with a code (or a refusal).

Forms are protected by a token bound to the request and to a cookie of this browser (HMAC with
the server key, so any worker checks it), and only the browser that signed in may agree. Both
sign-in forms are rate-limited per address and, for a pasted token, per user, in the shared store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from nemo_mcp.attribution import attribution_headers
from nemo_mcp.backend.client import PACKAGE_DIR
from nemo_mcp.backend.http import ApiHttp
from nemo_mcp.errors import NemoError, TokenInvalid
from nemo_mcp.redact import could_be_token, register_secret
from nemo_mcp.remote.oauth import pages
from nemo_mcp.remote.oauth.provider import SITE, Provider
from nemo_mcp.remote.oauth.records import REQUEST_PREFIX, Row, digest
from nemo_mcp.remote.users import Users
from nemo_mcp.words import user_message

log = logging.getLogger("nemo_mcp.remote.oauth")

COOKIE = "nemo_sign_in"
ANONYMOUS_PATH = "/api/auth/anonymous-token"


@dataclass(frozen=True)
class Limits:
    """How many sign-ins the form takes, per address and per user, in a window of time."""

    window_s: float = 600.0
    per_address: int = 20
    per_user: int = 10
    anonymous_per_address: int = 5
    """Anonymous tokens per address per hour."""


class Refused(Exception):
    """A sign-in step refused, in words for the page (never containing a token)."""

    def __init__(self, words: str, status: int = 400) -> None:
        super().__init__(words)
        self.status = status


def client_address(request: Request) -> str:
    """The address the form came from: the one our proxy saw (its ``X-Forwarded-For`` entry is
    the last), else the connection's."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


class SignIn:
    """The handlers of the sign-in and consent pages."""

    def __init__(self, provider: Provider, users: Users, limits: Limits | None = None) -> None:
        self.provider = provider
        self.users = users
        self.limits = limits or Limits()
        self.web_url = users.settings.web_url

    # -- routes ----------------------------------------------------------------------------
    async def show(self, request: Request) -> Response:
        handle = request.query_params.get("request", "")
        try:
            data = await self._request(handle)
        except Refused as exc:
            return _problem("This sign-in link does not work", str(exc), exc.status)
        nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        page = pages.sign_in_page(
            _client(data), handle, self._csrf(handle, nonce), web_url=self.web_url
        )
        response = HTMLResponse(page, headers=pages.headers())
        _set_cookie(response, request, nonce)
        return response

    async def token(self, request: Request) -> Response:
        return await self._attempt(request, anonymous=False)

    async def anonymous(self, request: Request) -> Response:
        return await self._attempt(request, anonymous=True)

    async def consent(self, request: Request) -> Response:
        form = await request.form()
        handle = str(form.get("request", ""))
        try:
            data, nonce = await self._checked(request, form)
            if not data.get("user_key") or data.get("browser") != digest(nonce):
                raise Refused("Sign in first: this browser has not signed in to this request.", 403)
            if not await self.provider.store.use("request", digest(handle)):  # one answer only
                raise Refused("This sign-in was finished already. Go back to the app.", 410)
        except Refused as exc:
            return _problem("This sign-in cannot go on", str(exc), exc.status)
        # ``iss`` (RFC 9207) lets the client check which server answered (no mix-up).
        target, back = str(data["redirect_uri"]), {"state": data["state"], "iss": SITE.get().issuer}
        if form.get("decision") != "allow":
            location = _with_query(target, error="access_denied", **back)
            log.info("oauth consent refused", extra={"event": "oauth_denied"})
        else:
            code = await self.provider.issue_code(data, str(data["user_key"]))
            location = _with_query(target, code=code, **back)
            log.info(
                "oauth consent given",
                extra={"event": "oauth_consent", "user": str(data["user_key"])[:12]},
            )
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})

    # -- steps -----------------------------------------------------------------------------
    async def _attempt(self, request: Request, *, anonymous: bool) -> Response:
        """Either sign-in form: checked, counted, the token obtained, then the consent page."""
        form = await request.form()
        handle = str(form.get("request", ""))
        try:
            data, nonce = await self._checked(request, form)
            address = client_address(request)
            await self._limit("address", address, self.limits.per_address)
            if anonymous:
                limits = self.limits
                await self._limit("anonymous", address, limits.anonymous_per_address, 3600.0)
                token = await self._anonymous_token()
            else:
                token = await self._pasted(str(form.get("token", "")).strip())
        except Refused as exc:
            return await self._again(request, handle, str(exc), exc.status)
        return await self._signed_in(request, handle, data, nonce, token, anonymous=anonymous)

    async def _pasted(self, pasted: str) -> str:
        """The pasted token, once NemoVideo accepted it (``Refused`` in words if not)."""
        if not could_be_token(pasted):
            raise Refused("That is not a NemoVideo token: paste the whole token, nothing else.")
        key = self.users.keys.user_key(pasted)
        await self._limit("user", key, self.limits.per_user)
        try:
            await self.users.verify(key, pasted)
        except TokenInvalid:
            raise Refused(
                "NemoVideo does not accept this token. Check that you copied all of it, "
                "or take a free anonymous token below."
            ) from None
        except NemoError as exc:
            words = f"NemoVideo could not check the token: {user_message(exc)}"
            raise Refused(words, 502) from None
        register_secret(pasted)  # only now: NemoVideo took it, so it is a token
        return pasted

    async def _request(self, handle: str) -> dict[str, Any]:
        if not handle.startswith(REQUEST_PREFIX):
            raise Refused("The link has no sign-in request. Go back to the app and connect again.")
        row = await self.provider.store.get("request", digest(handle))
        if row is None or row.used or row.expired(time.time()):
            raise Refused(
                "This sign-in has expired or was finished already (they last 10 minutes). "
                "Go back to the app and connect again.",
                410,
            )
        return row.data()

    async def _checked(self, request: Request, form: Any) -> tuple[dict[str, Any], str]:
        handle, csrf = str(form.get("request", "")), str(form.get("csrf", ""))
        nonce = request.cookies.get(COOKIE, "")
        if not nonce or not hmac.compare_digest(csrf, self._csrf(handle, nonce)):
            raise Refused(
                "This form did not come from this sign-in page (or cookies are off). "
                "Reload the page and try again.",
                403,
            )
        return await self._request(handle), nonce

    async def _limit(self, what: str, who: str, most: int, window_s: float = 0.0) -> None:
        window_s = window_s or self.limits.window_s
        name = f"{what}:{hashlib.sha256(who.encode()).hexdigest()[:32]}"
        if await self.provider.store.hit(name, window_s) > most:
            minutes = round(window_s / 60)
            source = "for this token" if what == "user" else "from your address"
            raise Refused(
                f"Too many sign-in attempts {source}. Wait {minutes} minutes and try again.", 429
            )

    async def _anonymous_token(self) -> str:
        settings = self.users.settings
        attribution = attribution_headers(
            self.users.first_manifest, settings.skill_source, PACKAGE_DIR
        )
        http = ApiHttp(settings, attribution, local=settings.local)
        try:
            built = http.build(
                "POST", ANONYMOUS_PATH, token=None, headers={"X-Client-Id": str(uuid.uuid4())}
            )
            data = await http.call(built)
        except NemoError as exc:
            raise Refused(f"NemoVideo gave no anonymous token: {user_message(exc)}", 502) from None
        finally:
            await http.aclose()
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise Refused("NemoVideo gave no anonymous token. Try again in a minute.", 502)
        register_secret(token)
        return token

    async def _signed_in(
        self, request: Request, handle: str, data: dict[str, Any], nonce: str, token: str,
        *, anonymous: bool,
    ) -> Response:  # fmt: skip
        key = await self.users.sign_in(token)
        data.update(user_key=key, browser=digest(nonce), anonymous=anonymous)
        row = Row(json.dumps(data), "", time.time() + 600.0)
        await self.provider.store.put("request", digest(handle), row)
        log.info("oauth sign-in", extra={"event": "oauth_sign_in", "user": key[:12]})
        client = _client(data)
        page = pages.consent_page(
            client, handle, self._csrf(handle, nonce), anonymous=anonymous, web_url=self.web_url
        )
        targets = (pages.redirect_target(client.redirect_uri),)
        return HTMLResponse(page, headers=pages.headers(targets))

    async def _again(self, request: Request, handle: str, words: str, status: int) -> Response:
        """The sign-in page again, with what went wrong (or a problem page if there is none)."""
        try:
            data = await self._request(handle)
        except Refused as exc:
            return _problem("This sign-in link does not work", str(exc), exc.status)
        nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        page = pages.sign_in_page(
            _client(data), handle, self._csrf(handle, nonce), web_url=self.web_url, error=words
        )
        response = HTMLResponse(page, status_code=status, headers=pages.headers())
        _set_cookie(response, request, nonce)
        return response

    def _csrf(self, handle: str, nonce: str) -> str:
        message = f"csrf\0{handle}\0{nonce}".encode()
        return hmac.new(self.users.keys.secret, message, hashlib.sha256).hexdigest()


def _client(data: dict[str, Any]) -> pages.Client:
    return pages.Client(str(data.get("client_name", "")), str(data.get("redirect_uri", "")))


def _problem(title: str, words: str, status: int) -> Response:
    page = pages.problem_page(title, words)
    return HTMLResponse(page, status_code=status, headers=pages.headers())


def _set_cookie(response: Response, request: Request, nonce: str) -> None:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        COOKIE, nonce, max_age=900, path="/oauth", secure=secure, httponly=True, samesite="lax"
    )


def _with_query(uri: str, **params: str) -> str:
    return construct_redirect_uri(uri, **params)
