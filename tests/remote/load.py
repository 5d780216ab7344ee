"""Steady load for the chaos tests: tool calls as plain HTTP, each one timed and read back.

A call is one JSON-RPC ``tools/call`` POSTed to ``/mcp`` (the server is stateless: no session,
no ``initialize``), so what the test sees is exactly what HAProxy and the worker answered: the
HTTP status, ``Retry-After``, the time it took, and the words of a tool error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
DB_WORDS = "cannot reach its database"
CALLS_PER_MINUTE = 100
"""One caller's most, under the per-user limit of 120 a minute the cluster runs with."""


@dataclass
class Answer:
    tool: str
    status: int
    seconds: float
    text: str = ""
    is_error: bool = False
    retry_after: str | None = None
    structured: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0

    @property
    def worded(self) -> bool:
        """A tool result, or a 503 that says when to come back and what happened, in words."""
        if self.status == 200:
            return bool(self.text) and "Traceback" not in self.text
        return self.status == 503 and self.retry_after is not None and DB_WORDS in self.text

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.is_error


def _result(body: str, content_type: str) -> dict[str, Any]:
    if "text/event-stream" in content_type:
        for line in body.splitlines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return dict(message)
        return {}
    return dict(json.loads(body)) if body else {}


async def call(
    http: httpx.AsyncClient, token: str, tool: str, args: dict[str, Any] | None = None
) -> Answer:
    """One tool call; never raises for what the server answered (a broken connection is
    status 0)."""
    payload = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": args or {}},
    }
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    started = time.monotonic()
    try:
        response = await http.post("/mcp", json=payload, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(tool, 0, time.monotonic() - started, repr(exc), started=started)
    seconds = time.monotonic() - started
    answer = Answer(tool, response.status_code, seconds, started=started)
    answer.retry_after = response.headers.get("retry-after")
    if response.status_code != 200:
        answer.text = response.text
        return answer
    message = _result(response.text, response.headers.get("content-type", ""))
    result = message.get("result") or {}
    answer.is_error = bool(result.get("isError")) or "error" in message
    blocks = result.get("content") or []
    answer.text = " ".join(str(b.get("text", "")) for b in blocks) or json.dumps(message)
    answer.structured = result.get("structuredContent") or {}
    return answer


@dataclass
class Load:
    """Callers that each call ``tool`` in a loop until stopped; every answer is kept."""

    url: str
    tokens: list[str]
    tool: str = "get_timeline"
    answers: list[Answer] = field(default_factory=list)
    pause: float = 0.2

    async def run(self, stop: anyio.Event, timeout: float = 60.0) -> None:
        async with anyio.create_task_group() as tg:
            for token in self.tokens:
                tg.start_soon(self._caller, token, stop, timeout)

    async def _caller(self, token: str, stop: anyio.Event, timeout: float) -> None:
        # Each caller keeps under the cluster's per-user request limit (NEMO_USER_RPM, 120 a
        # minute), so what the test measures is the fault, not that limit's 429s: on an idle
        # machine calls take milliseconds and a 0.2 s pause alone would be 300 a minute.
        every = max(self.pause, 60.0 / CALLS_PER_MINUTE)
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as http:
            while not stop.is_set():
                started = time.monotonic()
                self.answers.append(await call(http, token, self.tool))
                with anyio.move_on_after(max(0.0, started + every - time.monotonic())):
                    await stop.wait()

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.started <= end]
