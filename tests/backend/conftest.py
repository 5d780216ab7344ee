from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CAPTURES = Path(__file__).parents[1] / "fixtures" / "sse-captures"


@dataclass(frozen=True)
class Capture:
    """A recorded HTTP answer: status, headers and the body's exact bytes."""

    name: str
    status: int
    headers: dict[str, str]
    body: bytes

    def response(self) -> httpx.Response:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        return httpx.Response(self.status, headers=headers, content=self.body)


def load_capture(path: Path) -> Capture:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return Capture(path.stem, int(status_line.split()[1]), headers, body)


def http_captures() -> list[Path]:
    return sorted(p for p in CAPTURES.glob("*.txt") if p.read_bytes().startswith(b"HTTP/1.1"))


class BrokenStream(httpx.AsyncByteStream):
    """Sends some bytes, then the connection dies (as a reset or an incomplete body would)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise httpx.RemoteProtocolError("peer closed connection: incomplete chunked read")
