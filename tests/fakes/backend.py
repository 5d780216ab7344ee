"""A small stateful fake of the backend contract on ``httpx.MockTransport``, for in-memory tests.

It keeps what the tools need to meet a believable backend (a token, a session, credits, uploaded
media, a draft that an edit changes, renders that complete) and lets a test replace any route's
answer (``fail``) or the next message's stream (``stream``). The embedded local backend on
loopback is the real-server counterpart; this one is for exact, fast, in-process checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MP4 = b"\0\0\0\x18ftypisom" + b"\1" * 2048
TOKEN = "nmv_usr_fake_backend_token_0001"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


def envelope(data: Any, code: int = 0, status: int = 200, message: str = "ok") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "data": data, "message": message})


def event_stream(*events: dict[str, Any] | str) -> httpx.Response:
    """An SSE answer: dicts become ``data:`` events, strings are lines of their own."""
    chunks = [f"{e}\n\n" if isinstance(e, str) else f"data: {json.dumps(e)}\n\n" for e in events]
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(chunks)
    )


def reply(text: str) -> dict[str, Any]:
    return {"id": "e1", "author": "agent", "content": {"role": "model", "parts": [{"text": text}]}}


@dataclass
class FakeBackend(httpx.AsyncBaseTransport):
    credits: int = 500
    draft: dict[str, Any] = field(default_factory=lambda: {"t": []})
    media: list[str] = field(default_factory=list)
    renders: dict[str, int] = field(default_factory=dict)
    render_polls: int = 1
    mp4: bytes = MP4
    """What a download of a finished render gets."""
    """How many status polls a render stays ``processing`` before it completes."""
    requests: list[httpx.Request] = field(default_factory=list)
    overrides: dict[str, list[Handler]] = field(default_factory=dict)
    streams: list[httpx.Response] = field(default_factory=list)

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """Itself: unlike ``MockTransport`` it hands an override the request body unread."""
        return self

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.handle(request)

    def fail(self, route: str, *answers: Handler | httpx.Response) -> None:
        """The next answers of ``route`` (e.g. ``"credits"``, ``"run_sse"``) are these."""
        self.overrides.setdefault(route, []).extend(
            a if callable(a) else (lambda _r, a=a: a) for a in answers
        )

    def stream(self, *events: dict[str, Any] | str) -> None:
        """The next message's stream (default: a reply saying what the edit did)."""
        self.streams.append(event_stream(*events))

    def count(self, route: str) -> int:
        return sum(1 for r in self.requests if self.route_of(r) == route)

    @staticmethod
    def route_of(request: httpx.Request) -> str:
        path = request.url.path
        table = (
            (r"/api/auth/anonymous-token$", "token"),
            (r"/api/auth/claim-token$", "claim"),
            (r"/api/tasks/me/with-session/", "session"),
            (r"/api/credits/balance/simple$", "credits"),
            (r"/api/upload-video/", "upload"),
            (r"/api/state/", "state"),
            (r"^/run_sse$", "run_sse"),
            (r"/api/render/proxy/lambda$", "render_submit"),
            (r"/api/render/proxy/lambda/", "render_status"),
            (r"/download$|^/files/", "download"),
        )
        return next((name for pattern, name in table if re.search(pattern, path)), "unknown")

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.route_of(request)
        if self.overrides.get(route):
            answer = self.overrides[route].pop(0)(request)
            return await answer if not isinstance(answer, httpx.Response) else answer
        await request.aread()
        return getattr(self, f"_{route}")(request)  # type: ignore[no-any-return]

    def _token(self, request: httpx.Request) -> httpx.Response:
        return envelope({"token": TOKEN, "credits": self.credits, "expires_in": 7 * 86400})

    def _claim(self, request: httpx.Request) -> httpx.Response:
        return envelope({"claim_token": "clm_fake_claim_0001", "expires_in": 3600})

    def _session(self, request: httpx.Request) -> httpx.Response:
        return envelope({"session_id": "ses_1", "task_id": "task_1", "bind_id": "bind_1"})

    def _credits(self, request: httpx.Request) -> httpx.Response:
        return envelope({"available": self.credits, "frozen": 0, "total": self.credits})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("content-type", "").startswith("application/json"):
            names = [u.rsplit("/", 1)[-1] for u in json.loads(request.content)["urls"]]
        else:
            names = re.findall(rb'filename="([^"]+)"', request.content)
            names = [n.decode() for n in names]
        self.media += names
        files = [
            {"media_id": f"med_{len(self.media)}", "name": n, "url": f"/files/{n}"} for n in names
        ]
        return envelope({"files": files})

    def _state(self, request: httpx.Request) -> httpx.Response:
        return envelope({"state": {"draft": self.draft}, "bind_id": "bind_1"})

    def _run_sse(self, request: httpx.Request) -> httpx.Response:
        if self.streams:
            return self.streams.pop(0)
        text = json.loads(request.content)["new_message"]["parts"][0]["text"]
        segments = [{"st": i * 3000, "d": 3000, "m": {"name": n}} for i, n in enumerate(self.media)]
        self.draft = {
            "t": [{"tt": 0, "sg": segments or [{"st": 0, "d": 3000, "m": {"name": "clip"}}]}]
        }
        self.credits -= 100
        return event_stream(": working", reply(f"Done: {text}."))

    def _render_submit(self, request: httpx.Request) -> httpx.Response:
        self.renders[json.loads(request.content)["id"]] = 0
        return envelope({"status": "pending"})

    def _render_status(self, request: httpx.Request) -> httpx.Response:
        render_id = request.url.path.rsplit("/", 1)[-1]
        self.renders[render_id] = polls = self.renders.get(render_id, 0) + 1
        if polls <= self.render_polls:
            return httpx.Response(
                200, json={"id": render_id, "status": "processing", "progress": 50}
            )
        url = f"/files/{render_id}.mp4"
        return httpx.Response(
            200, json={"id": render_id, "status": "completed", "output": {"url": url}}
        )

    def _download(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=self.mp4, headers={"content-length": str(len(self.mp4))})

    def _unknown(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not found"})


class HeldStream(httpx.AsyncByteStream):
    """A message stream that sends a heartbeat, then waits for the test before it ends."""

    def __init__(self, release: Any, *events: dict[str, Any]) -> None:
        self.release = release
        self.events = events

    async def __aiter__(self) -> Any:
        yield b": working\n\n"
        await self.release.wait()
        for event in self.events:
            yield f"data: {json.dumps(event)}\n\n".encode()


def held(release: Any, *events: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=HeldStream(release, *events)
    )
