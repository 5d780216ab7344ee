"""ADK ``/run_sse`` events, byte for byte in the shape of ``tests/fixtures/sse-captures``.

Each event is ``data: <compact JSON>\\n\\n`` with camelCase keys in ADK's order, UTF-8 as is
(no ``\\u`` escapes); heartbeats are SSE comments; a mid-stream failure is ADK's
``{"error": ..., "error_details": ...}`` line (written with its different spacing).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

AUTHOR = "nemo_agent"
HEARTBEAT = b": still working\n\n"
_CHUNK_WORDS = 4


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


def call_part(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"functionCall": {"id": call_id, "args": args, "name": name}}


def response_part(call_id: str, name: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"functionResponse": {"id": call_id, "name": name, "response": response}}


class Invocation:
    """The events of one turn: they share an invocation id; each event gets its own id."""

    def __init__(self) -> None:
        self.id = f"e-{uuid.uuid4()}"

    def call_id(self) -> str:
        return f"call-{uuid.uuid4().hex[:8]}"

    def event(
        self,
        parts: list[dict[str, Any]],
        *,
        role: str = "model",
        partial: bool = False,
        finish_reason: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {"content": {"parts": parts, "role": role}}
        if partial:
            event["partial"] = True
        if finish_reason:
            event["finishReason"] = finish_reason
        event |= {
            "invocationId": self.id,
            "author": AUTHOR,
            "actions": {
                "stateDelta": {},
                "artifactDelta": {},
                "requestedAuthConfigs": {},
                "requestedToolConfirmations": {},
            },
            "nodeInfo": {"path": ""},
            "id": event_id or str(uuid.uuid4()),
            "timestamp": time.time(),
        }
        return event

    def text(self, text: str, *, streaming: bool) -> list[dict[str, Any]]:
        """A model text turn: with ``streaming``, partial deltas then a final event with the same
        id repeating the whole text; without, one final event."""
        if not streaming:
            return [self.event([text_part(text)])]
        event_id = str(uuid.uuid4())
        chunks = _chunks(text)
        events = [self.event([text_part(c)], partial=True, event_id=event_id) for c in chunks]
        events.append(self.event([text_part(text)], event_id=event_id))
        return events

    def no_content(self) -> dict[str, Any]:
        """The empty model event that may close a silent turn."""
        return self.event([], finish_reason="STOP")


def _chunks(text: str) -> list[str]:
    """Pieces of ``text`` that join back into it: a few words each (characters for CJK)."""
    if " " not in text:
        return [text[i : i + 8] for i in range(0, len(text), 8)] or [text]
    words = text.split(" ")
    return [
        " ".join(words[i : i + _CHUNK_WORDS]) + (" " if i + _CHUNK_WORDS < len(words) else "")
        for i in range(0, len(words), _CHUNK_WORDS)
    ]


def frame(event: dict[str, Any]) -> bytes:
    """One SSE event: ``data: <json>`` and a blank line."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"data: {body}\n\n".encode()


def error_frame(error_type: str, message: str) -> bytes:
    """ADK's mid-stream failure line; the connection closes after it."""
    body = {
        "error": f"{error_type}: {message}",
        "error_details": {
            "error_type": error_type,
            "error_message": message,
            "timestamp": time.time(),
        },
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()
