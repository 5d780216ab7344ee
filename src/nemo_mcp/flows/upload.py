"""An upload: the checked files (converted where needed, streamed from disk) and links sent one
by one, each standing alone. A file or link the backend turns down is listed in ``rejected`` with
its reason while the rest go on; any other error stops the rest (they are listed as not sent).
HEIC photos are converted to JPEG in a temporary folder removed afterwards. An upload adopted
after a restart is not sent again: its items are listed as to be uploaded again.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import JsonValue

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
from nemo_mcp.media import LocalMedia, convert_heic
from nemo_mcp.results import RejectedItem, UploadedItem, UploadResult
from nemo_mcp.uploads import UploadRequest
from nemo_mcp.words import user_message

log = logging.getLogger(__name__)

# The backend refusing one item is about that item; other errors stop the rest of the upload.
ITEM_ERRORS = (InputError, MediaTooLarge, UnsupportedType, RequestRejected)


def _item_words(exc: NemoError, item: LocalMedia | str) -> str:
    """A refusal of one item (made with its context by the client); a link the backend could
    not use is said as such."""
    if isinstance(exc, RequestRejected) and isinstance(item, str):
        return (
            "The backend could not fetch this link. Check that it is public and points at a "
            "media file."
        )
    return user_message(exc)


def public_answer(answer: Any, *, urls: bool) -> JsonValue:
    """What the backend said about an upload, as JSON; without its links unless they last
    (``urls``; offline they are loopback, mean nothing elsewhere, and go stale with its port)."""
    if isinstance(answer, dict):
        return {
            str(k): public_answer(v, urls=urls) for k, v in answer.items() if urls or k != "url"
        }
    if isinstance(answer, list):
        return [public_answer(v, urls=urls) for v in answer]
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
                    backend = public_answer(answer, urls=self.client.deployment.backend_urls_last)
                    result.uploaded.append(
                        UploadedItem(name=item, type="url", source="url", backend=backend)
                    )
                    done += 1
            except ITEM_ERRORS as exc:
                reason = _item_words(exc, item)
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
            backend=public_answer(answer, urls=self.client.deployment.backend_urls_last),
        )  # fmt: skip
