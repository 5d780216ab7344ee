"""Helpers for the local backend's tests: sample media, an API user, and an SSE reader."""

from __future__ import annotations

import io
import json
import math
import struct
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import Any

import httpx

ATTRIBUTION = {
    "X-Skill-Source": "picture-to-video-ai",
    "X-Skill-Version": "1.0.0",
    "X-Skill-Platform": "unknown",
}
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def jpeg(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (320, 240)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 128, 255, 255)).save(out, "PNG")
    return out.getvalue()


def wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    """A mono sine tone."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


@dataclass
class Frame:
    """One SSE frame: an event (``data``) or a comment (heartbeat)."""

    data: dict[str, Any] | None = None
    comment: str | None = None


def parse_sse(raw: bytes) -> list[Frame]:
    """Split an SSE body into frames; fails on anything but ``data:`` lines and comments."""
    frames = []
    text = raw.decode("utf-8")
    assert text == "" or text.endswith("\n\n"), "every frame ends with a blank line"
    for block in text.split("\n\n")[:-1]:
        assert "\n" not in block, f"one line per frame: {block!r}"
        if block.startswith(": "):
            frames.append(Frame(comment=block[2:]))
        else:
            assert block.startswith("data: "), block
            frames.append(Frame(data=json.loads(block[6:])))
    return frames


def events(frames: list[Frame]) -> list[dict[str, Any]]:
    return [f.data for f in frames if f.data is not None]


def collected_text(evs: list[dict[str, Any]]) -> str:
    """docs/SSE.md's reading rule: per event id, partials append, a final replaces."""
    texts: dict[str, str] = {}
    for ev in evs:
        text = "".join(p.get("text", "") for p in ev.get("content", {}).get("parts", []))
        if not text:
            continue
        if ev.get("partial"):
            texts[ev["id"]] = texts.get(ev["id"], "") + text
        else:
            texts[ev["id"]] = text
    return " ".join(texts.values())


def parts_of(evs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [p[key] for ev in evs for p in ev.get("content", {}).get("parts", []) if key in p]


@dataclass
class User:
    """An anonymous account with one session, speaking to the backend like the cloud's client."""

    http: httpx.AsyncClient
    token: str
    session_id: str
    task_id: str
    client_id: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(cls, http: httpx.AsyncClient, language: str = "en") -> User:
        client_id = str(uuid.uuid4())
        answer = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
        assert answer.status_code == 200, answer.text
        token = answer.json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}", **ATTRIBUTION}
        answer = await http.post(
            "/api/tasks/me/with-session/nemo_agent",
            json={"task_name": "project", "language": language},
            headers=headers,
        )
        data = answer.json()["data"]
        return cls(http, token, data["session_id"], data["task_id"], client_id, headers)

    async def upload(self, *files: tuple[str, bytes]) -> list[dict[str, Any]]:
        answer = await self.http.post(
            f"/api/upload-video/nemo_agent/me/{self.session_id}",
            files=[("files", (name, content)) for name, content in files],
            headers=self.headers,
        )
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()["data"]["files"]
        return result

    def run_body(self, text: str, streaming: bool = True) -> dict[str, Any]:
        return {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": self.session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]},
            "streaming": streaming,
        }

    async def send(self, text: str, streaming: bool = True) -> list[Frame]:
        """One message; the whole stream, parsed."""
        answer = await self.http.post(
            "/run_sse", json=self.run_body(text, streaming), headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
        return parse_sse(answer.content)

    async def state(self) -> dict[str, Any]:
        answer = await self.http.get(
            f"/api/state/nemo_agent/me/{self.session_id}/latest", headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["data"]
        return result

    async def draft(self) -> dict[str, Any]:
        result: dict[str, Any] = (await self.state())["state"]["draft"]
        return result

    async def balance(self) -> dict[str, int]:
        answer = await self.http.get("/api/credits/balance/simple", headers=self.headers)
        result: dict[str, int] = answer.json()["data"]
        return result

    async def submit_render(
        self, render_id: str, draft: dict[str, Any] | None = None
    ) -> httpx.Response:
        body = {
            "id": render_id,
            "sessionId": self.session_id,
            "draft": draft if draft is not None else await self.draft(),
            "output": {"format": "mp4", "quality": "high"},
        }
        return await self.http.post("/api/render/proxy/lambda", json=body, headers=self.headers)

    async def wait_render(self, render_id: str, wait: float = 180) -> dict[str, Any]:
        """The job once it finished (the backend holds each answer up to 30 s: no sleeps here).

        ``wait`` is generous because a loaded machine renders slowly; a passing run never waits
        for it."""
        deadline = time.monotonic() + wait
        while True:
            left = max(0.0, deadline - time.monotonic())
            answer = await self.http.get(
                f"/api/render/proxy/lambda/{render_id}",
                params={"wait": left},
                headers=self.headers,
                timeout=left + 10,
            )
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            if result.get("status") in ("completed", "failed") or left == 0:
                return result
