"""The backend's bookkeeping: accounts, tokens, sessions, media records and credits.

In memory, used from the event loop thread only (no locks). ``snapshot``/``restore`` turn it into
JSON and back, and ``changed`` is called after every change worth keeping: a backend with
``keep_state`` saves it then (``nemo_local.persist``), so a restart finds it all again. Media
files live on disk under the data folder; records name them, never a URL (no port is baked in).

Rules, as the cloud states them:
- An anonymous token belongs to an *account* keyed by the client id. Asking again while the token
  lives returns the same token (credits untouched); once it expired, a new token is issued for the
  same account, so credits and sessions carry over (no free credits by re-asking).
- One address may obtain ``tokens_per_address`` new tokens per 7 days (then 429).
- Credits: ``available`` can be spent; ``frozen`` is held by running work; ``total`` is both.
  Work reserves its cost up front (refused with 2001 when short), then is charged or refunded.
- ``refill_credits`` (``serve --local``): an account short of credits is topped back up to
  ``starting_credits`` instead of refused, so offline credits count work but never stop it.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_local import api_errors
from nemo_local.api_errors import ApiError
from nemo_local.config import TOKEN_TTL_SECONDS, LocalBackendConfig
from nemo_local.edits import MediaRef
from nemo_local.filetypes import Kind

CLAIM_TTL_SECONDS = 24 * 3600


@dataclass
class Account:
    id: str
    client_id: str
    bind_id: str
    available: int
    frozen: int = 0
    token: str | None = None
    token_expires_at: float = 0.0

    def balance(self) -> dict[str, int]:
        return {
            "available": self.available,
            "frozen": self.frozen,
            "total": self.available + self.frozen,
        }


@dataclass
class Media:
    media_id: str
    name: str
    kind: Kind
    content_type: str
    bytes: int
    path: Path
    duration_ms: int | None = None

    def ref(self) -> MediaRef:
        return MediaRef(self.media_id, self.name, self.kind, self.duration_ms)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.media_id, "name": self.name, "kind": self.kind,
            "content_type": self.content_type, "bytes": self.bytes, "file": self.path.name,
            "duration_ms": self.duration_ms,
        }  # fmt: skip

    def public(self, base_url: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "media_id": self.media_id,
            "name": self.name,
            "kind": self.kind,
            "content_type": self.content_type,
            "bytes": self.bytes,
            "url": f"{base_url}/files/media/{self.path.name}",
        }
        if self.duration_ms is not None:
            info["duration_ms"] = self.duration_ms
        return info


@dataclass
class Session:
    id: str
    task_id: str
    account_id: str
    task_name: str
    language: str
    draft: dict[str, Any]
    media: list[Media] = field(default_factory=list)
    generated: list[dict[str, Any]] = field(default_factory=list)
    updated_at: float = 0.0
    busy: bool = False
    """A message is being worked on (one at a time per session)."""

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id, "task_id": self.task_id, "account_id": self.account_id,
            "task_name": self.task_name, "language": self.language, "draft": self.draft,
            "media": [m.record() for m in self.media], "generated": self.generated,
            "updated_at": self.updated_at,
        }  # fmt: skip


class BackendState:
    """Accounts, tokens, sessions and media records of one running backend."""

    def __init__(
        self, config: LocalBackendConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._clock = clock
        self._accounts: dict[str, Account] = {}
        self._by_client: dict[str, Account] = {}
        self._by_token: dict[str, Account] = {}
        self._expired: set[str] = set()
        self._issued: dict[str, deque[float]] = {}
        self._sessions: dict[str, Session] = {}
        self._media: dict[str, Media] = {}
        self.media_dir = config.data_dir / "media"
        self.changed: Callable[[], None] = lambda: None
        """Called after every change worth keeping (the backend saves then, if it keeps state)."""

    # keeping ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything a restart needs, as JSON values (expired tokens are forgotten)."""
        return {
            "accounts": [vars(a).copy() for a in self._accounts.values()],
            "sessions": [s.record() for s in self._sessions.values()],
            "issued": {address: list(times) for address, times in self._issued.items()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a ``snapshot``. Credits frozen by work that died with the last process come back;
        a media record whose file is gone is dropped."""
        for item in data.get("accounts", []):
            account = Account(**item)
            account.available, account.frozen = account.available + account.frozen, 0
            self._accounts[account.id] = account
            self._by_client[account.client_id] = account
            if account.token:
                self._by_token[account.token] = account
        for item in data.get("sessions", []):
            media = [
                Media(
                    media_id=m["id"],
                    name=m["name"],
                    kind=m["kind"],
                    content_type=m["content_type"],
                    bytes=m["bytes"],
                    path=self.media_dir / m["file"],
                    duration_ms=m.get("duration_ms"),
                )  # fmt: skip
                for m in item.get("media", [])
            ]
            media = [m for m in media if m.path.is_file()]
            session = Session(
                id=item["id"], task_id=item["task_id"], account_id=item["account_id"],
                task_name=item["task_name"], language=item["language"], draft=item["draft"],
                media=media, generated=item.get("generated", []),
                updated_at=item.get("updated_at", self._clock()),
            )  # fmt: skip
            self._sessions[session.id] = session
            self._media.update((m.media_id, m) for m in media)
        for address, times in data.get("issued", {}).items():
            self._issued[address] = deque(float(t) for t in times)

    def session_ids(self) -> set[str]:
        return set(self._sessions)

    def touch(self, session: Session) -> None:
        """The session was used now (pruning counts idle days from here); keep it."""
        session.updated_at = self._clock()
        self.changed()

    # tokens -----------------------------------------------------------------------------------

    def anonymous_token(self, client_id: str, address: str) -> tuple[Account, int]:
        """The live token of ``client_id`` (or a new one) and its seconds to live."""
        now = self._clock()
        account = self._by_client.get(client_id)
        if account and account.token and account.token_expires_at > now:
            return account, int(account.token_expires_at - now)
        issued = self._issued.setdefault(address, deque())
        while issued and issued[0] <= now - TOKEN_TTL_SECONDS:
            issued.popleft()
        if len(issued) >= self._config.tokens_per_address:
            retry = int(issued[0] + TOKEN_TTL_SECONDS - now) + 1
            raise ApiError(
                api_errors.RATE_LIMITED,
                "Too many anonymous tokens from this address; try again later.",
                headers={"Retry-After": str(retry)},
            )
        issued.append(now)
        if account is None:
            account = Account(
                id=_new_id("acc"),
                client_id=client_id,
                bind_id=_new_id("bind"),
                available=self._config.starting_credits,
            )
            self._accounts[account.id] = account
            self._by_client[client_id] = account
        if account.token:
            self._expired.add(account.token)
            self._by_token.pop(account.token, None)
        account.token = "nmv_usr_" + secrets.token_urlsafe(24)
        account.token_expires_at = now + TOKEN_TTL_SECONDS
        self._by_token[account.token] = account
        self.changed()
        return account, TOKEN_TTL_SECONDS

    def grant_token(self, token: str) -> Account:
        """A new account whose token is ``token``, as if its owner had copied it from their
        account page into ``NEMO_TOKEN``: tests follow a token they chose everywhere it goes."""
        account = Account(
            id=_new_id("acc"), client_id=_new_id("own"), bind_id=_new_id("bind"),
            available=self._config.starting_credits, token=token,
            token_expires_at=self._clock() + TOKEN_TTL_SECONDS,
        )  # fmt: skip
        self._accounts[account.id] = account
        self._by_client[account.client_id] = account
        self._by_token[token] = account
        self.changed()
        return account

    def authenticate(self, authorization: str | None) -> Account:
        """The account behind ``Authorization: Bearer <token>``, or 1001."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(api_errors.TOKEN_INVALID, "Missing bearer token.")
        account = self._by_token.get(token)
        if account is None:
            if token in self._expired:
                raise ApiError(api_errors.TOKEN_INVALID, "Token expired; get a new one.")
            raise ApiError(api_errors.TOKEN_INVALID, "Token invalid.")
        if account.token_expires_at <= self._clock():
            del self._by_token[token]
            self._expired.add(token)
            raise ApiError(api_errors.TOKEN_INVALID, "Token expired; get a new one.")
        return account

    def expire_all_tokens(self) -> None:
        """Every live token stops working (the ``expire_token`` switch, or real expiry)."""
        now = self._clock()
        for account in self._by_token.values():
            account.token_expires_at = min(account.token_expires_at, now)
        self._expired.update(self._by_token)
        self._by_token.clear()

    # sessions ---------------------------------------------------------------------------------

    def create_session(self, account: Account, task_name: str, language: str) -> Session:
        width, height = self._config.canvas
        session = Session(
            id=_new_id("ses"),
            task_id=_new_id("task"),
            account_id=account.id,
            task_name=task_name,
            language=language,
            draft={"canvas": {"width": width, "height": height}, "t": []},
            updated_at=self._clock(),
        )
        self._sessions[session.id] = session
        self.changed()
        return session

    def session(self, account: Account, session_id: str) -> Session:
        """The account's session, or 1002 (another account's session is "not found" too)."""
        session = self._sessions.get(session_id)
        if session is None or session.account_id != account.id:
            raise ApiError(api_errors.SESSION_NOT_FOUND, f"Session not found: {session_id[:80]}")
        return session

    def delete_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self.changed()

    def claim_token(self, session: Session, task_id: str) -> tuple[str, int]:
        """A browser claim token for the session's project (``clm_...``) and its seconds to live."""
        if session.task_id != task_id:
            raise ApiError(api_errors.SESSION_NOT_FOUND, f"Task not found: {task_id[:80]}")
        return "clm_" + secrets.token_urlsafe(18), CLAIM_TTL_SECONDS

    # credits ----------------------------------------------------------------------------------

    def reserve(self, account: Account, cost: int) -> None:
        """Freeze ``cost`` credits for running work, or 2001 when the account is short (unless
        ``refill_credits``: then the balance is topped back up first)."""
        if cost > account.available and self._config.refill_credits:
            account.available = max(self._config.starting_credits, cost)
        if cost > account.available:
            raise ApiError(
                api_errors.OUT_OF_CREDITS,
                f"Not enough credits: this needs {cost}, {account.available} available.",
            )
        account.available -= cost
        account.frozen += cost

    def charge(self, account: Account, cost: int) -> None:
        """The work landed: the frozen credits are spent."""
        account.frozen -= cost
        self.changed()

    def refund(self, account: Account, cost: int) -> None:
        """The work failed: the frozen credits come back."""
        account.frozen -= cost
        account.available += cost
        self.changed()

    # media ------------------------------------------------------------------------------------

    def add_media(self, session: Session, media: Media) -> None:
        self._media[media.media_id] = media
        session.media.append(media)
        self.touch(session)

    def media_by_file(self, file_name: str) -> Media | None:
        """The media stored under ``file_name`` (``<media_id>.<ext>``), for the file route."""
        media = self._media.get(file_name.split(".", 1)[0])
        return media if media and media.path.name == file_name else None

    def media_paths(self, account: Account) -> dict[str, Path]:
        """Media id -> file, for every upload of the account (what a render may use)."""
        return {
            m.media_id: m.path
            for s in self._sessions.values()
            if s.account_id == account.id
            for m in s.media
        }


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def new_media_id() -> str:
    return _new_id("med")
