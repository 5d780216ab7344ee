"""What the authorization server keeps, and the rules it decides by: pure, no I/O.

Every secret it hands out (sign-in request handles, codes, access and refresh tokens) is random
(256 bits) and kept only as its SHA-256: a copy of the database gives nobody a usable token.
Tokens issued from one sign-in share a *family*; revoking any of them, or replaying a used code
or refresh token, ends the whole family at once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

Kind = Literal["client", "request", "code", "access", "refresh"]

SCOPE = "nemo"
"""The one scope: use this server's tools on the user's behalf."""
REQUEST_TTL_S = 600.0
"""A sign-in in progress (the page, then the consent) must finish within this."""
CODE_TTL_S = 600.0
"""An authorization code is redeemable once, within ten minutes."""
ACCESS_TTL_S = 3600.0
"""Access tokens are short-lived; the client refreshes them."""
REFRESH_TTL_S = 30 * 24 * 3600.0
"""A refresh token lasts 30 days and works once (each refresh gives a new one)."""
CLIENT_TTL_S = 400 * 24 * 3600.0
"""A registered client is forgotten after this long (it registers again)."""
MAX_REDIRECT_URIS = 10
MAX_URI_CHARS = 2000

ACCESS_PREFIX = "nmo_at_"
REFRESH_PREFIX = "nmo_rt_"
CODE_PREFIX = "nmo_ac_"
REQUEST_PREFIX = "nmo_rq_"


def new_secret(prefix: str) -> str:
    """A fresh random secret (256 bits), prefixed so it can be told apart from a NemoVideo token."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_family() -> str:
    return secrets.token_hex(12)


@dataclass(frozen=True)
class Row:
    """One stored record: a JSON body, the family it belongs to, when it ends, whether used."""

    body: str
    family: str
    expires_at: float
    used: bool = False

    def data(self) -> dict[str, Any]:
        loaded = json.loads(self.body)
        return loaded if isinstance(loaded, dict) else {}

    def expired(self, now: float) -> bool:
        return self.expires_at <= now


def is_s256_challenge(challenge: str) -> bool:
    """Whether ``challenge`` can be an S256 PKCE challenge: a SHA-256, base64url, unpadded."""
    return len(challenge) == 43 and all(c in _BASE64URL for c in challenge)


_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def redirect_uri_refusal(uri: str) -> str | None:
    """Why ``uri`` may not be registered as a redirect URI, or None when it may.

    https anywhere; http only to this machine (a desktop client listening on loopback, RFC 8252
    §7.3); a private-use scheme only in reverse-domain form (``com.example.app:/cb``, RFC 8252
    §7.1). Never a fragment, never credentials in the address."""
    if len(uri) > MAX_URI_CHARS:
        return "a redirect URI is too long"
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment or "#" in uri:
        return "a redirect URI must not have a fragment"
    if parts.username or parts.password:
        return "a redirect URI must not carry a user name or password"
    if scheme == "https" and parts.hostname:
        return None
    if scheme == "http":
        if _loopback(parts.hostname):
            return None
        return "an http redirect URI must point at this machine (localhost); use https"
    if "." in scheme and scheme not in ("javascript", "data", "file"):
        return None
    return f"the redirect URI scheme {scheme or '(none)'!r} is not allowed"


def same_resource(a: str | None, b: str) -> bool:
    """Whether two resource URLs name the same server (case of scheme and host, a trailing slash
    and a default port aside)."""
    if not a:
        return False
    return _canonical(a) == _canonical(b)


def _canonical(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if (scheme, port) in (("https", 443), ("http", 80)):
        port = None
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
