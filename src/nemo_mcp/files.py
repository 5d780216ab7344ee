"""Putting a finished file in place without overwriting anything the user already has."""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str, default: str = "video", suffix: str = ".mp4") -> str:
    """A plain file name: no folders, no hidden dot, no odd characters, the given suffix."""
    stem = UNSAFE_NAME.sub("-", Path(name.replace("\\", "/")).name).strip(" .-")[:80]
    stem = stem.removesuffix(suffix).strip(" .-") or default
    return f"{stem}{suffix}"


def place_new(tmp: Path, dest: Path) -> Path:
    """Move ``tmp`` to ``dest``, or ``dest (2)``, ``dest (3)``... never replacing a file.

    A hard link fails atomically when the name exists, so two exports finishing at once cannot
    take the same name. Where hard links are not supported we fall back to a checked rename.
    """
    for n in range(1, 10_000):
        candidate = dest if n == 1 else dest.with_name(f"{dest.stem} ({n}){dest.suffix}")
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                raise
            if candidate.exists():
                continue
            os.replace(tmp, candidate)
            return candidate
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        return candidate
    raise FileExistsError(f"no free file name next to {dest}")
