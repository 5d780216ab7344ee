from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings

CAPTURES = Path(__file__).parents[1] / "fixtures" / "sse-captures"
API = "https://api.nemo.test"


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


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=API, assert_all_called=False)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, sleeps: Sleeps
) -> Callable[..., BackendClient]:
    def make(**overrides: object) -> BackendClient:
        s = replace(settings, **overrides)  # type: ignore[arg-type]
        return BackendClient(
            s,
            manifest,
            transport=httpx.MockTransport(router.async_handler),
            environ={},
            sleep=sleeps,
        )

    return make


class BrokenStream(httpx.AsyncByteStream):
    """Sends some bytes, then the connection dies (as a reset or an incomplete body would)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise httpx.RemoteProtocolError("peer closed connection: incomplete chunked read")
