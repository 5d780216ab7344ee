"""Who is asking: the bearer token, the user key derived from it, the token kept for later.

Each request carries the user's own NemoVideo token. Records are filed under a *user key*, an
HMAC-SHA256 of the token with the server key: the same token always finds the same records, and
the key cannot be turned back into the token. Work that outlives the request (a render another
worker picks up after this one died) needs the token again, so it is kept encrypted with a key
derived from the server key (AES-256-GCM); without the server key the stored bytes are useless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nemo_mcp.redact import could_be_token

NONCE_BYTES = 12
REALM = "nemo-mcp"


class Unauthorized(Exception):
    """No usable bearer token; the words are safe to show (they never contain the token)."""


def bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header, or ``Unauthorized``."""
    if not header:
        raise Unauthorized(
            "Sign in (OAuth), or send your NemoVideo token as 'Authorization: Bearer <token>'."
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    if not could_be_token(token):
        raise Unauthorized("The bearer token is not a token.")
    return token


def challenge(reason: str, resource_metadata: str | None = None) -> str:
    """The ``WWW-Authenticate`` value for a 401 (RFC 6750), pointing OAuth clients at the
    protected-resource metadata (RFC 9728) when there is one."""
    quoted = reason.replace('"', "'")
    value = f'Bearer realm="{REALM}", error="invalid_token", error_description="{quoted}"'
    if resource_metadata:
        value += f', resource_metadata="{resource_metadata}"'
    return value


@dataclass(frozen=True)
class Keys:
    """What the server key gives: user keys and the box that keeps tokens."""

    secret: bytes = field(repr=False)

    @classmethod
    def from_setting(cls, server_key: str) -> Keys:
        if len(server_key) < 16:
            raise ValueError("NEMO_SERVER_KEY must be at least 16 characters")
        return cls(server_key.encode())

    def user_key(self, token: str) -> str:
        """A stable, non-reversible name for the token's owner."""
        mac = hmac.new(self.secret, b"user\0" + token.encode(), hashlib.sha256)
        return "u_" + mac.hexdigest()[:40]

    def _aead(self) -> AESGCM:
        return AESGCM(hmac.new(self.secret, b"token-box", hashlib.sha256).digest())

    def seal(self, token: str, user_key: str) -> str:
        """The token encrypted (and bound to its user key), as text for the store."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead().encrypt(nonce, token.encode(), user_key.encode())
        return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, user_key: str) -> str:
        """The token back; ``ValueError`` if it was not sealed by this server key for this user."""
        version, _, body = sealed.partition(":")
        if version != "v1":
            raise ValueError("not a sealed token")
        raw = base64.urlsafe_b64decode(body.encode())
        try:
            plain = self._aead().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], user_key.encode())
        except Exception:
            raise ValueError("the sealed token does not open with this server key") from None
        return plain.decode()
