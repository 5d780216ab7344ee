"""Download links that open without a header: an expiring signature bound to the user and file.

A sandboxed player page or a browser tab cannot send ``Authorization``, so an export's link
carries its own proof: ``?u=<who>&exp=<unix time>&sig=<HMAC>``. ``sig`` is HMAC-SHA256, under a
key derived from the server key, of the user key, the file name and the expiry: change any of
them and it no longer matches. ``u`` is the user key sealed with AES-GCM (a fresh nonce each
time), so the link never shows the key itself. Pure: no I/O, the clock is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
EXPIRED = "This download link has expired. Call export_video again for a fresh link."
ALTERED = "This download link is not valid (it was changed or cut short). Call export_video again."


class LinkRefused(Exception):
    """A link that does not open; the words are for the person holding it."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks download links with keys derived from the server key."""

    secret: bytes = field(repr=False)
    ttl: float = 3600.0

    def _mac_key(self) -> bytes:
        return hmac.new(self.secret, b"download-link", hashlib.sha256).digest()

    def _box(self) -> AESGCM:
        return AESGCM(hmac.new(self.secret, b"download-who", hashlib.sha256).digest())

    def _sig(self, user_key: str, name: str, expires: int) -> str:
        message = "\0".join((user_key, name, str(expires))).encode()
        return _b64(hmac.new(self._mac_key(), message, hashlib.sha256).digest())

    def query(self, user_key: str, name: str, now: float) -> str:
        """The query string that opens ``name`` of ``user_key`` until ``now + ttl``."""
        expires = int(now + self.ttl)
        nonce = os.urandom(NONCE_BYTES)
        who = _b64(nonce + self._box().encrypt(nonce, user_key.encode(), b"who"))
        return urlencode({"u": who, "exp": expires, "sig": self._sig(user_key, name, expires)})

    def check(self, name: str, params: dict[str, str], now: float) -> str:
        """The user key the link was made for, or ``LinkRefused`` (altered or expired)."""
        who, exp, sig = params.get("u", ""), params.get("exp", ""), params.get("sig", "")
        if not (who and exp.isdigit() and sig):
            raise LinkRefused(ALTERED)
        try:
            raw = _unb64(who)
            user_key = self._box().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], b"who").decode()
        except Exception:
            raise LinkRefused(ALTERED) from None
        if not hmac.compare_digest(sig, self._sig(user_key, name, int(exp))):
            raise LinkRefused(ALTERED)
        if int(exp) < now:
            raise LinkRefused(EXPIRED)
        return user_key
