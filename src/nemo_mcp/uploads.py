"""Uploading what the user named: local files (checked, converted, streamed) and links.

Every item is checked before anything is sent (``media``), and every item stands alone: a refused
path, a malformed link or a file the backend turns down is listed in ``rejected`` with its reason
while the rest go on. The checks are quick and happen in the tool call; the sending can take
longer than a tool may wait, so it runs as an ``upload`` job (``UploadFlow``). HEIC photos are
converted to JPEG in a temporary folder removed afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, JsonValue

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import (
    BackendError,
    InputError,
    MediaTooLarge,
    NemoError,
    RequestRejected,
    UnsupportedType,
)
from nemo_mcp.jobs import RunningJob
from nemo_mcp.manifests import Manifest
from nemo_mcp.media import LocalMedia, check_local_file, check_url, convert_heic, shown_name
from nemo_mcp.results import RejectedItem, UploadedItem, UploadResult
from nemo_mcp.words import user_message

log = logging.getLogger(__name__)

HEIC_ADVICE = (
    "{name} is a HEIC photo, and converting HEIC needs an optional extra. Install it with: "
    "pip install 'nemo-mcp[heic]' (or export the photo as JPEG)."
)
# The backend refusing one item is about that item; other errors stop the rest of the upload.
ITEM_ERRORS = (InputError, MediaTooLarge, UnsupportedType, RequestRejected)


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


def _item_words(exc: NemoError, manifest: Manifest, item: LocalMedia | str) -> str:
    """A refusal of one item, with the context the backend's answer lacks. A file refused as
    too large passed our own size check, so the backend's limit is lower than the manifest's:
    its size is said instead of a limit that would not explain the refusal."""
    link = isinstance(item, str)
    if isinstance(exc, UnsupportedType):
        exc.accepted = manifest.accepted_types
    elif isinstance(exc, MediaTooLarge):
        if isinstance(item, LocalMedia):
            exc.size_bytes = item.size
        else:
            exc.limit_mb = manifest.max_upload_mb
    elif isinstance(exc, RequestRejected) and link:
        return (
            "The backend could not fetch this link. Check that it is public and points at a "
            "media file."
        )
    return user_message(exc)


def public_answer(answer: Any, *, offline: bool) -> JsonValue:
    """What the backend said about an upload, as JSON; offline without its loopback links
    (they mean nothing outside this computer's server and go stale with its port)."""
    if isinstance(answer, dict):
        return {
            str(k): public_answer(v, offline=offline)
            for k, v in answer.items()
            if not (offline and k == "url")
        }
    if isinstance(answer, list):
        return [public_answer(v, offline=offline) for v in answer]
    return answer if isinstance(answer, str | int | float | bool | None) else str(answer)


@dataclass
class UploadFlow:
    client: BackendClient
    manifest: Manifest

    async def run(self, job: RunningJob) -> UploadResult:
        request = UploadRequest.model_validate_json(job.record.request)
        if job.resumed:
            return UploadResult(
                rejected=[
                    RejectedItem(
                        name=item, reason="The server stopped during the upload; upload it again."
                    )
                    for item in [m.name for m in request.files] + request.urls
                ]
            )
        result = UploadResult()
        total = sum(m.size for m in request.files) + len(request.urls) or 1
        done = 0
        pending: list[tuple[str, LocalMedia | str]] = [(m.name, m) for m in request.files]
        pending += [(url, url) for url in request.urls]
        for index, (name, item) in enumerate(pending):
            try:
                if isinstance(item, LocalMedia):
                    result.uploaded.append(await self._send_file(item, done, total, job))
                    done += item.size
                else:
                    await job.report(f"Sending the link {name[:60]}", done / total)
                    answer = await self.client.upload_urls([item])
                    backend = public_answer(answer, offline=self.client.offline)
                    result.uploaded.append(
                        UploadedItem(name=item, type="url", source="url", backend=backend)
                    )
                    done += 1
            except ITEM_ERRORS as exc:
                reason = _item_words(exc, self.manifest, item)
                result.rejected.append(RejectedItem(name=name, reason=reason))
            except NemoError as exc:
                if not result.uploaded:
                    raise
                reason = user_message(exc)
                result.rejected += [RejectedItem(name=n, reason=reason) for n, _ in pending[index:]]
                break
        sent = len(result.uploaded)
        result.reply = f"Uploaded {sent} item{'s' if sent != 1 else ''}."
        return result

    async def _send_file(
        self, media: LocalMedia, done: int, total: int, job: RunningJob
    ) -> UploadedItem:
        sending = media
        if media.needs_conversion:
            await job.report(f"Converting {media.name} to JPEG", done / total)
            sending = await anyio.to_thread.run_sync(convert_heic, media)
        try:

            async def progress(sent: int, _: int | None) -> None:
                share = (done + sent * media.size / max(sending.size, 1)) / total
                await job.report(f"Uploading {media.name}", min(share, 0.99))

            answer = await self.client.upload_file(
                sending.path,
                filename=sending.name,
                content_type=sending.media.content_type,
                progress=progress,
            )
        except BackendError as exc:
            log.info("the backend refused %s: %s", media.name, type(exc).__name__)
            raise
        finally:
            if sending is not media:
                shutil.rmtree(sending.path.parent, ignore_errors=True)
        return UploadedItem(
            name=media.name, bytes=sending.size, type=media.type, source="file",
            backend=public_answer(answer, offline=self.client.offline),
        )  # fmt: skip
