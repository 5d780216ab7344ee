"""Uploading what the user named: local files (checked, converted, streamed) and URLs.

Each item is checked before anything is sent; a refused item is reported with its reason and
does not stop the others. HEIC photos are converted to JPEG in a temporary folder that is
removed afterwards.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import (
    InputError,
    MediaTooLarge,
    UnsupportedMedia,
    user_message,
)
from nemo_mcp.manifests import Manifest
from nemo_mcp.media import LocalMedia, allowed_roots, check_local_file, check_url, convert_heic
from nemo_mcp.results import RejectedItem, UploadedItem, UploadResult

Relay = Callable[[float, float, str], Awaitable[None]]
# The backend refusing one file (type, size) is about that file; anything else stops the upload.
ITEM_ERRORS = (MediaTooLarge, UnsupportedMedia)


class Uploader:
    def __init__(
        self,
        client: BackendClient,
        manifest: Manifest,
        configured_roots: Sequence[Path],
        client_roots: Sequence[Path] | None,
    ) -> None:
        self.client = client
        self.manifest = manifest
        self.roots = allowed_roots(client_roots, configured_roots)

    async def upload(self, paths: Sequence[str], urls: Sequence[str], relay: Relay) -> UploadResult:
        result = UploadResult(uploaded=[], rejected=[])
        checked: list[LocalMedia] = []
        for raw in paths:
            try:
                checked.append(check_local_file(raw, self.roots, self.manifest))
            except InputError as exc:
                result.rejected.append(RejectedItem(name=Path(raw).name or raw, reason=str(exc)))
        good_urls: list[str] = []
        for raw in urls:
            try:
                good_urls.append(check_url(raw, self.manifest))
            except InputError as exc:
                result.rejected.append(RejectedItem(name=raw[:200], reason=str(exc)))
        total = sum(m.size for m in checked) or 1
        done = 0
        for media in checked:
            try:
                answer, size = await self._send_file(media, done, total, relay)
            except InputError as exc:
                result.rejected.append(RejectedItem(name=media.name, reason=str(exc)))
                continue
            except ITEM_ERRORS as exc:
                reason = user_message(exc)
                result.rejected.append(RejectedItem(name=media.name, reason=reason))
                continue
            done += media.size
            result.uploaded.append(
                UploadedItem(
                    name=media.name, bytes=size, type=media.media.name, source="file",
                    backend=answer,
                )
            )  # fmt: skip
        if good_urls:
            await relay(99.0, 100.0, f"Sending {len(good_urls)} link(s) to the backend")
            answer = await self.client.upload_urls(good_urls)
            for url in good_urls:
                result.uploaded.append(
                    UploadedItem(name=url, type="url", source="url", backend=answer)
                )
        return result

    async def _send_file(
        self, media: LocalMedia, done: int, total: int, relay: Relay
    ) -> tuple[object, int]:
        sending = media
        if media.needs_conversion:
            await relay(done / total * 100, 100.0, f"Converting {media.name} to JPEG")
            sending = await anyio.to_thread.run_sync(convert_heic, media)
        try:

            async def progress(sent: int, _: int | None) -> None:
                share = (done + sent * media.size / max(sending.size, 1)) / total
                await relay(min(share * 100, 99.0), 100.0, f"Uploading {media.name}")

            answer = await self.client.upload_file(
                sending.path,
                filename=sending.name,
                content_type=sending.media.content_type,
                progress=progress,
            )
            return answer, sending.size
        finally:
            if sending is not media:
                shutil.rmtree(sending.path.parent, ignore_errors=True)
