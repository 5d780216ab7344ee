"""Small JSON records in the config folder: client id, token cache, sessions, renders.

``client_id`` is a plain UUID file shared with the vendor's own skills, so a user keeps one
identity. Everything is written atomically (temporary file, then rename) so a crash never
leaves half a record, and the token cache is created with mode 0600 because it holds a secret.
Records are keyed by the API URL: a token or session of the local backend means nothing to the
cloud, and the other way round.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.errors import ConfigError

CLIENT_ID_FILE = "client_id"
TOKEN_FILE = "tokens.json"
SESSION_FILE = "sessions.json"
RENDER_FILE = "renders.json"
SECRET_MODE = 0o600


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float
    client_id: str

    def __repr__(self) -> str:
        return f"CachedToken(token='***', expires_at={self.expires_at}, client_id={self.client_id})"

    def valid(self, now: float | None = None, margin: float = 300.0) -> bool:
        """Still usable, with a margin so a token does not expire mid-request."""
        return (now if now is not None else time.time()) + margin < self.expires_at


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    task_id: str
    bind_id: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class RenderRecord:
    render_id: str
    session_id: str
    submitted_at: float
    output_dir: str
    status: str = "submitted"
    path: str | None = None


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Store:
    """The config folder. Reads are cheap and tolerant: a damaged file counts as empty."""

    def __init__(self, config_dir: Path, api_url: str):
        self.dir = config_dir
        self.api_url = api_url.rstrip("/")

    # -- helpers ------------------------------------------------------------------------
    def _read(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.dir / name).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, OSError):
            return {}
        return data if isinstance(data, dict) else {}

    def _update(self, name: str, key: str, value: Any, mode: int = 0o644) -> None:
        data = self._read(name)
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
        try:
            _write_atomic(self.dir / name, json.dumps(data, indent=2, sort_keys=True), mode)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.dir / name}: {exc.strerror}") from None

    def _scoped(self, key: str) -> str:
        return f"{self.api_url} {key}"

    # -- client id ----------------------------------------------------------------------
    def client_id(self) -> str | None:
        try:
            value = (self.dir / CLIENT_ID_FILE).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, OSError):
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return None

    def new_client_id(self) -> str:
        value = str(uuid.uuid4())
        try:
            _write_atomic(self.dir / CLIENT_ID_FILE, value + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {self.dir / CLIENT_ID_FILE}: {exc.strerror}") from None
        return value

    # -- token cache (0600) -------------------------------------------------------------
    def token(self) -> CachedToken | None:
        raw = self._read(TOKEN_FILE).get(self.api_url)
        try:
            return CachedToken(**raw) if isinstance(raw, dict) else None
        except TypeError:
            return None

    def save_token(self, token: CachedToken | None) -> None:
        self._update(TOKEN_FILE, self.api_url, asdict(token) if token else None, SECRET_MODE)

    # -- sessions, one per skill ----------------------------------------------------------
    def session(self, skill: str) -> SessionRecord | None:
        raw = self._read(SESSION_FILE).get(self._scoped(skill))
        try:
            return SessionRecord(**raw) if isinstance(raw, dict) else None
        except TypeError:
            return None

    def save_session(self, skill: str, record: SessionRecord | None) -> None:
        self._update(SESSION_FILE, self._scoped(skill), asdict(record) if record else None)

    # -- renders, so a restarted server resumes instead of rendering again ---------------
    def render(self, session_id: str) -> RenderRecord | None:
        raw = self._read(RENDER_FILE).get(self._scoped(session_id))
        try:
            return RenderRecord(**raw) if isinstance(raw, dict) else None
        except TypeError:
            return None

    def save_render(self, record: RenderRecord) -> None:
        self._update(RENDER_FILE, self._scoped(record.session_id), asdict(record))

    def forget_render(self, session_id: str) -> None:
        self._update(RENDER_FILE, self._scoped(session_id), None)
