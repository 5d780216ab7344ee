"""A long ADK stream of partial events, as the backend sends a streamed reply: shared by the
reader's cost test and ``bench/run.py`` so both measure the same bytes."""

from __future__ import annotations

import json

CHUNK_CHARS = 4096
"""About what one network read hands ``aiter_text``."""

_ACTIONS = {
    "stateDelta": {},
    "artifactDelta": {},
    "requestedAuthConfigs": {},
    "requestedToolConfirmations": {},
}


def adk_partial_stream(events: int, *, with_ids: bool = True, heartbeat_every: int = 50) -> str:
    """``events`` partial text events of one reply (one id), a ``: ping`` comment now and then,
    and the final non-partial event carrying the whole text, as SSE text."""
    out: list[str] = []
    words: list[str] = []
    for i in range(events):
        word = f"w{i % 997} "
        words.append(word)
        event: dict[str, object] = {
            "content": {"parts": [{"text": word}], "role": "model"},
            "partial": True,
            "invocationId": "e-3d8536a3-ff61-48cb-b32d-26938587bf32",
            "author": "nemo_agent",
            "actions": _ACTIONS,
            "timestamp": 1795226549.0732896 + i / 1000,
        }
        if with_ids:
            event["id"] = "91ba4562-1104-4984-9c68-95034925d162"
        out.append(f"data: {json.dumps(event, separators=(',', ':'))}\n\n")
        if heartbeat_every and i % heartbeat_every == heartbeat_every - 1:
            out.append(": ping\n\n")
    final = {"content": {"parts": [{"text": "".join(words)}], "role": "model"}, "author": "nemo"}
    if with_ids:
        final["id"] = "91ba4562-1104-4984-9c68-95034925d162"
    out.append(f"data: {json.dumps(final, separators=(',', ':'))}\n\n")
    return "".join(out)


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
