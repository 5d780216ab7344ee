"""Uploading what the user named: local files (checked, converted, streamed) and links.

Every item is checked before anything is sent (``media``), and every item stands alone: a refused
path, a malformed link or a file the backend turns down is listed in ``rejected`` with its reason
while the rest go on. The checks are quick and happen in the tool call; the sending can take
longer than a tool may wait, so it runs as an ``upload`` job (``flows.upload``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from nemo_mcp.errors import (
    InputError,
)
from nemo_mcp.manifests import Manifest
from nemo_mcp.media import LocalMedia, check_local_file, check_url, shown_name
from nemo_mcp.results import RejectedItem

log = logging.getLogger(__name__)

HEIC_ADVICE = (
    "{name} is a HEIC photo, and converting HEIC needs an optional extra. Install it with: "
    "pip install 'nemo-mcp[heic]' (or export the photo as JPEG)."
)


class UploadRequest(BaseModel):
    """What an upload job sends: files that passed every check, and links."""

    files: list[LocalMedia] = []
    urls: list[str] = []

    @property
    def key(self) -> str:
        """The same files and links asked for again join the running upload."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:20]


def heic_available() -> bool:
    """Whether the ``heic`` extra is installed (found, not imported: start-up stays fast)."""
    try:
        return importlib.util.find_spec("pillow_heif") is not None
    except (ImportError, ValueError):
        return False


def check_items(
    paths: Sequence[str], urls: Sequence[str], roots: Sequence[Path], manifest: Manifest
) -> tuple[UploadRequest, list[RejectedItem]]:
    """What may be sent, and what was refused (each with its reason); nothing is sent here."""
    request, rejected = UploadRequest(), []
    for raw in paths:
        try:
            media = check_local_file(raw, roots, manifest)
            if media.needs_conversion and not heic_available():
                raise InputError(HEIC_ADVICE.format(name=media.name))
            request.files.append(media)
        except InputError as exc:
            rejected.append(RejectedItem(name=shown_name(raw), reason=str(exc)))
    for raw in urls:
        try:
            request.urls.append(check_url(raw, manifest))
        except InputError as exc:
            rejected.append(RejectedItem(name=shown_name(raw)[:200], reason=str(exc)))
    return request, rejected
