"""Reading the backend's message stream: SSE lines -> ADK events -> one merged turn.

Pure: nothing here does I/O, so every rule is tested on the recorded captures byte for byte.

Why our own line decoder rather than httpx-sse: httpx-sse drops SSE comment lines, and comments
(``: ping``) are one of the three heartbeat forms the backend sends; a heartbeat we cannot see
cannot become a "still working" signal. The wire format is small (``data:`` lines, comments,
blank lines; see SSE.md), so the decoder is too.

Merging (SSE.md, "Reading text without doubling it"): text is collected per event ``id``;
partial events append to that id's text, a non-partial event with text replaces it, and ids keep
the order they first appeared in; the texts of different ids are separate model messages and are
joined by a newline. Tool calls and results are kept apart from the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SILENT_ERROR_CODES = frozenset({"MODEL_RETURNED_NO_CONTENT"})


@dataclass(frozen=True)
class Heartbeat:
    """The backend is still working (a comment, an empty ``data:`` line, a content-less event)."""

    form: str


@dataclass(frozen=True)
class TextUpdate:
    """The reply so far, merged (not a delta)."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolResult:
    id: str
    name: str
    response: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    """A failure reported inside the stream (``error`` / ``errorMessage``)."""

    message: str


Signal = Heartbeat | TextUpdate | ToolCall | ToolResult | Failure


@dataclass
class Turn:
    """What one message produced once its stream ended."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    error: str | None = None
    events: int = 0
    heartbeats: int = 0

    @property
    def silent(self) -> bool:
        return not self.text.strip()


class LineDecoder:
    """Splits decoded text chunks into SSE lines (``\\r\\n``, ``\\n`` or ``\\r``)."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, chunk: str) -> list[str]:
        text = self._buffer + chunk
        # A trailing "\r" may be half of "\r\n": keep it until the next chunk.
        keep_cr = text.endswith("\r")
        if keep_cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, rest = text.split("\n")
        self._buffer = rest + ("\r" if keep_cr else "")
        return lines

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.rstrip("\r"), ""
        return [rest] if rest else []


class EventDecoder:
    """SSE lines -> event payloads (``data`` joined by newlines) and heartbeats."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> list[str | Heartbeat]:
        if line.startswith(":"):
            return [Heartbeat("comment")]
        if not line:
            if not self._data:
                return []
            data, self._data = "\n".join(self._data), []
            return [data] if data.strip() else [Heartbeat("empty data")]
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        # event:, id:, retry: and unknown fields carry nothing for us.
        return []

    def flush(self) -> list[str | Heartbeat]:
        return self.feed("")


def _text_of(parts: list[Any]) -> str | None:
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "".join(texts) if texts else None


class TurnAccumulator:
    """ADK events -> signals, and the merged turn at the end."""

    def __init__(self) -> None:
        self.turn = Turn()
        self._texts: dict[str, str] = {}
        self._anonymous = 0

    def feed(self, payload: str) -> list[Signal]:
        try:
            event = json.loads(payload)
        except ValueError:
            return [Heartbeat("unreadable event")]
        if not isinstance(event, dict):
            return [Heartbeat("unreadable event")]
        self.turn.events += 1
        if "error" in event and "content" not in event:
            message = str(event.get("error") or "the backend reported an error")
            self.turn.error = message
            return [Failure(message)]
        signals: list[Signal] = []
        content = event.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        parts = parts if isinstance(parts, list) else []
        text = _text_of(parts)
        if text is not None:
            signals.append(self._merge_text(event, text))
        for part in parts:
            if not isinstance(part, dict):
                continue
            if isinstance(call := part.get("functionCall"), dict):
                signals.append(self._tool_call(call))
            if isinstance(result := part.get("functionResponse"), dict):
                signals.append(self._tool_result(result))
        code = event.get("errorCode")
        reported = event.get("errorMessage")
        if reported and code not in SILENT_ERROR_CODES:
            self.turn.error = str(reported)
            signals.append(Failure(str(reported)))
        if not signals:
            self.turn.heartbeats += 1
            signals.append(Heartbeat("no content"))
        return signals

    def _merge_text(self, event: dict[str, Any], text: str) -> TextUpdate:
        raw_id = event.get("id")
        if isinstance(raw_id, str) and raw_id:
            event_id = raw_id
        else:
            self._anonymous += 1
            event_id = f"#anonymous-{self._anonymous}"
        if event.get("partial") is True:
            self._texts[event_id] = self._texts.get(event_id, "") + text
        else:
            self._texts[event_id] = text
        self.turn.text = "\n".join(t for t in self._texts.values() if t)
        return TextUpdate(self.turn.text)

    def _tool_call(self, call: dict[str, Any]) -> ToolCall:
        args = call.get("args")
        item = ToolCall(
            str(call.get("id", "")),
            str(call.get("name", "")),
            args if isinstance(args, dict) else {},
        )
        self.turn.tool_calls.append(item)
        return item

    def _tool_result(self, result: dict[str, Any]) -> ToolResult:
        response = result.get("response")
        item = ToolResult(
            str(result.get("id", "")),
            str(result.get("name", "")),
            response if isinstance(response, dict) else {"result": response},
        )
        self.turn.tool_results.append(item)
        return item


class StreamParser:
    """Text chunks in, signals out: the three stages above in one object."""

    def __init__(self) -> None:
        self._lines = LineDecoder()
        self._events = EventDecoder()
        self.accumulator = TurnAccumulator()

    @property
    def turn(self) -> Turn:
        return self.accumulator.turn

    def feed(self, chunk: str) -> list[Signal]:
        return self._drain(self._lines.feed(chunk))

    def close(self) -> list[Signal]:
        return self._drain(self._lines.flush()) + self._drain_items(self._events.flush())

    def _drain(self, lines: list[str]) -> list[Signal]:
        signals: list[Signal] = []
        for line in lines:
            signals.extend(self._drain_items(self._events.feed(line)))
        return signals

    def _drain_items(self, items: list[str | Heartbeat]) -> list[Signal]:
        signals: list[Signal] = []
        for item in items:
            if isinstance(item, Heartbeat):
                self.turn.heartbeats += 1
                signals.append(item)
            else:
                signals.extend(self.accumulator.feed(item))
        return signals
