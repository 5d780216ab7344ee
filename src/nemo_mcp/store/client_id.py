"""The ``client_id`` file: one plain UUID shared with the vendor's own skills.

Several processes may start at once on a fresh config folder, so the file is created only if it
is absent (a hard link of a finished temporary file: atomic, and it fails when the name exists),
and everyone then reads the one that won. Only the HTTP 400 rule ("missing client id") replaces it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

from nemo_mcp.errors import ConfigError

CLIENT_ID_FILE = "client_id"


def read_client_id(config_dir: Path) -> str | None:
    """The stored id, or None when there is none or it is not a UUID."""
    try:
        value = (config_dir / CLIENT_ID_FILE).read_text(encoding="utf-8").strip()
        return str(uuid.UUID(value))
    except (OSError, ValueError):
        return None


def _temporary(config_dir: Path, value: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{CLIENT_ID_FILE}.", dir=config_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
        f.flush()
        os.fsync(f.fileno())
    return Path(name)


def ensure_client_id(config_dir: Path) -> str:
    """The shared id, created if absent; every process gets the same one."""
    if existing := read_client_id(config_dir):
        return existing
    try:
        tmp = _temporary(config_dir, str(uuid.uuid4()))
        try:
            os.link(tmp, config_dir / CLIENT_ID_FILE)
        except FileExistsError:
            if winner := read_client_id(config_dir):
                return winner
            os.replace(tmp, config_dir / CLIENT_ID_FILE)  # the existing file is damaged
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write {config_dir / CLIENT_ID_FILE}: {exc.strerror}. Set NEMO_CONFIG_DIR "
            "to a folder you can write."
        ) from None
    return read_client_id(config_dir) or ensure_client_id(config_dir)


def replace_client_id(config_dir: Path) -> str:
    """A new id, persisted (the backend said the old one was missing or unusable)."""
    value = str(uuid.uuid4())
    try:
        os.replace(_temporary(config_dir, value), config_dir / CLIENT_ID_FILE)
    except OSError as exc:
        raise ConfigError(f"cannot write {config_dir / CLIENT_ID_FILE}: {exc.strerror}") from None
    return value
