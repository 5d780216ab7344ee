"""Nothing internal in what users read: every answer of the remote suites is recorded and, at the
end of the session, searched for server paths, user keys, upload-id prefixes and cloud links.

Recorded: every MCP tool result and resource read (``mcp.Client``), and every answer of this
server's own routes read whole through httpx (``/uploads``, ``/downloads``, ``/readyz`` ...).
The whole remote suite runs on the embedded backend, so a link to nemovideo.com in a tool answer
is one that does not apply. The upload reference ``/uploads`` answers (``upload:<id>-<name>``)
is what the user passes back, so the id is allowed right after ``upload:``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client

LEAKS = {
    "a server path": re.compile(r"/(?:uploads|exports)/u_[0-9a-f]{6,}"),
    "a user key": re.compile(r"\bu_[0-9a-f]{40}\b"),
    "an upload-id prefix": re.compile(
        r"(?<!upload:)(?<![\w-])[0-9a-f]{12}-[\w.-]+\.[a-z0-9]{2,4}\b"
    ),
}
CLOUD = re.compile(r"nemovideo\.com")
OWN_ROUTES = ("/uploads", "/downloads", "/readyz", "/healthz")


class Answers:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []  # (where, text, is a tool answer)

    def add(self, where: str, value: Any, *, tool: bool) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        self.seen.append((where, text, tool))

    def leaks(self) -> list[str]:
        found = []
        for where, text, tool in self.seen:
            checks = [*LEAKS.items(), *([("a cloud link", CLOUD)] if tool else [])]
            for what, pattern in checks:
                if match := pattern.search(text):
                    around = text[max(0, match.start() - 60) : match.end() + 30]
                    found.append(f"{where}: {what}: ...{around}")
        return found


def _dump(result: Any) -> Any:
    dump = getattr(result, "model_dump", None)
    return dump(mode="json") if dump else str(result)


@pytest.fixture(scope="session", autouse=True)
def answers_leak_nothing() -> Iterator[Answers]:
    answers = Answers()
    patch = pytest.MonkeyPatch()
    call_tool, read_resource = Client.call_tool, Client.read_resource
    send, async_send = httpx.Client.send, httpx.AsyncClient.send

    async def recorded_call(self: Client, name: str, *args: Any, **kwargs: Any) -> Any:
        result = await call_tool(self, name, *args, **kwargs)
        answers.add(f"tool {name}", _dump(result), tool=True)
        return result

    async def recorded_read(self: Client, uri: str, *args: Any, **kwargs: Any) -> Any:
        result = await read_resource(self, uri, *args, **kwargs)
        if not uri.startswith("ui://"):  # the player page is our own static HTML
            answers.add(f"resource {uri}", _dump(result), tool=True)
        return result

    def record(response: httpx.Response, stream: bool) -> None:
        path = response.request.url.path
        kind = response.headers.get("content-type", "")
        if not stream and path.startswith(OWN_ROUTES) and "video" not in kind:
            answers.add(f"{response.request.method} {path}", response.text, tool=False)

    def recorded_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        response = send(self, request, **kwargs)
        record(response, bool(kwargs.get("stream")))
        return response

    async def recorded_async_send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> Any:
        response = await async_send(self, request, **kwargs)
        record(response, bool(kwargs.get("stream")))
        return response

    patch.setattr(Client, "call_tool", recorded_call)
    patch.setattr(Client, "read_resource", recorded_read)
    patch.setattr(httpx.Client, "send", recorded_send)
    patch.setattr(httpx.AsyncClient, "send", recorded_async_send)
    try:
        yield answers
    finally:
        patch.undo()
    leaks = answers.leaks()
    assert not leaks, f"{len(leaks)} answers show the server's insides:\n" + "\n".join(leaks[:20])
