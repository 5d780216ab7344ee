"""A one-file ``multipart/form-data`` body, streamed from disk.

httpx can stream a file too, but only with blocking reads in the event loop and without telling
us how far it got. This body reads with ``anyio`` in 1 MiB chunks (constant memory), reports
progress after each chunk, knows its exact length up front (so the request has a
``Content-Length`` and can be refused early by size), and notices a file that changes while it
is being sent (an input error: the user's file changed, the network is fine).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio

from nemo_mcp.errors import FileChanged

CHUNK = 1024 * 1024
FIELD = "files"

ByteProgress = Callable[[int, int | None], Awaitable[None]]


def _form_quote(value: str) -> str:
    # The HTML5 multipart rule for names: escape the three characters that break the header.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class FilePart:
    """A one-file multipart body streamed from disk: constant memory, known length."""

    def __init__(self, path: Path, filename: str, content_type: str, progress: ByteProgress | None):
        self.path = path
        self.size = path.stat().st_size
        self.progress = progress
        self.boundary = uuid.uuid4().hex
        disposition = f'form-data; name="{FIELD}"; filename="{_form_quote(filename)}"'
        self.head = (
            f"--{self.boundary}\r\n"
            f"Content-Disposition: {disposition}\r\n"
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(len(self.head) + self.size + len(self.tail)),
        }

    async def stream(self) -> AsyncIterator[bytes]:
        yield self.head
        sent = 0
        async with await anyio.open_file(self.path, "rb") as f:
            while chunk := await f.read(CHUNK):
                sent += len(chunk)
                if sent > self.size:
                    raise FileChanged(self.path.name, grew=True)
                yield chunk
                if self.progress:
                    await self.progress(sent, self.size)
        if sent != self.size:
            raise FileChanged(self.path.name, grew=False)
        yield self.tail
