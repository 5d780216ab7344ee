"""Reading the backend's message stream: SSE lines -> ADK events -> one merged turn.

Pure: nothing here does I/O, so every rule is tested on the recorded captures byte for byte.

Why our own line decoder rather than httpx-sse: httpx-sse drops SSE comment lines, and comments
(``: ping``) are one of the three heartbeat forms the backend sends; a heartbeat we cannot see
cannot become a "still working" signal. The wire format is small (``data:`` lines, comments,
blank lines; see docs/SSE.md), so the decoder is too.

Merging (docs/SSE.md, "Reading text without doubling it"): text is collected per event ``id``;
partial events append to that id's text, a non-partial event with text replaces it, and ids keep
the order they first appeared in; the texts of different ids are separate model messages and are
joined by a newline. Tool calls and results are kept apart from the text.

Cost is linear in the bytes: a 300-second generation streams tens of thousands of partial events,
so the merged text is kept as pieces and joined only when someone reads it (``Reply``), and lines
are decoded a chunk at a time, not an object per line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SILENT_ERROR_CODES = frozenset({"MODEL_RETURNED_NO_CONTENT"})


@dataclass(frozen=True)
class Heartbeat:
    """The backend is still working (a comment, an empty ``data:`` line, a content-less event)."""

    form: str


class TextUpdate:
    """The reply so far, merged (not a delta).

    Lazy: ``text`` is joined when read, and reads the reply as it stands then (at least up to
    this event). A consumer that looks a few times a second pays for those looks only."""

    __slots__ = ("_reply",)

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    @property
    def text(self) -> str:
        return self._reply.text()

    def __repr__(self) -> str:
        return f"TextUpdate({self.text!r})"


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


class _Segment:
    """The text of one event id: small pieces are gathered and joined a batch at a time, so
    appending stays linear and a long reply is a few strings, not one object per token."""

    __slots__ = ("done", "pending")
    BATCH = 256

    def __init__(self, text: str) -> None:
        self.done: list[str] = []
        self.pending = [text]

    def append(self, text: str) -> None:
        pending = self.pending
        pending.append(text)
        if len(pending) >= self.BATCH:
            self.done.append("".join(pending))
            self.pending = []

    def text(self) -> str:
        joined = "".join(self.done) + "".join(self.pending)
        self.done, self.pending = [joined], []
        return joined


class Reply:
    """The merged text of a turn: one segment per event id, in order of first appearance;
    ``text()`` joins them when read, and keeps the result until the next event."""

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._by_id: dict[str, _Segment] = {}
        self._anonymous: _Segment | None = None
        """Events without an id are each their own message; a run of them shares a segment
        (their texts joined by newlines, as separate ids are), so no dict entry per event."""
        self._joined: str | None = ""

    def append(self, event_id: str | None, text: str) -> None:
        self._joined = None
        if event_id is None:
            self._add_anonymous(text)
        elif (segment := self._by_id.get(event_id)) is not None:
            segment.append(text)
        else:
            self._by_id[event_id] = segment = _Segment(text)
            self._segments.append(segment)
            self._anonymous = None

    def replace(self, event_id: str | None, text: str) -> None:
        if event_id is None or event_id not in self._by_id:
            self.append(event_id, text)
            return
        self._joined = None
        segment = self._by_id[event_id]
        segment.done, segment.pending = [], [text]

    def _add_anonymous(self, text: str) -> None:
        if not text:
            return
        if self._anonymous is None:
            self._anonymous = _Segment(text)
            self._segments.append(self._anonymous)
        else:
            self._anonymous.append("\n")
            self._anonymous.append(text)

    def text(self) -> str:
        if self._joined is None:
            self._joined = "\n".join(t for seg in self._segments if (t := seg.text()))
        return self._joined


@dataclass
class Turn:
    """What one message produced once its stream ended."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    error: str | None = None
    events: int = 0
    heartbeats: int = 0
    reply: Reply = field(default_factory=Reply, repr=False)

    @property
    def text(self) -> str:
        return self.reply.text()

    @property
    def silent(self) -> bool:
        return not self.text.strip()


class LineDecoder:
    """Splits decoded text chunks into SSE lines (``\\r\\n``, ``\\n`` or ``\\r``)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pieces: list[str] = []
        """A long line arriving in many chunks: kept as pieces, joined once at its end."""

    def feed(self, chunk: str) -> list[str]:
        if "\n" not in chunk and "\r" not in chunk and not self._buffer.endswith("\r"):
            self._pieces.append(chunk)
            return []
        text = self._take() + chunk
        # A trailing "\r" may be half of "\r\n": keep it until the next chunk.
        keep_cr = text.endswith("\r")
        if keep_cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, rest = text.split("\n")
        self._buffer = rest + ("\r" if keep_cr else "")
        return lines

    def flush(self) -> list[str]:
        rest = self._take().rstrip("\r")
        return [rest] if rest else []

    def _take(self) -> str:
        text = self._buffer + "".join(self._pieces)
        self._buffer, self._pieces = "", []
        return text


class EventDecoder:
    """SSE lines -> event payloads (``data`` joined by newlines) and heartbeats."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> list[str | Heartbeat]:
        return self.feed_lines([line])

    def feed_lines(self, lines: list[str]) -> list[str | Heartbeat]:
        """All the lines of one chunk in one call: the per-line work is a few string tests."""
        out: list[str | Heartbeat] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    payload = data[0] if len(data) == 1 else "\n".join(data)
                    data.clear()
                    out.append(payload if payload.strip() else Heartbeat("empty data"))
            elif line[0] == ":":
                out.append(Heartbeat("comment"))
            elif line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif line == "data":
                data.append("")
            # event:, id:, retry: and unknown fields carry nothing for us.
        return out

    def flush(self) -> list[str | Heartbeat]:
        return self.feed("")


_DECODER = json.JSONDecoder()
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _load(payload: str) -> Any:
    """``json.loads`` without its per-call wrapping (two regex matches, type checks), which cost
    as much as the parsing on small events; anything unusual goes the long way."""
    try:
        value, end = _scan(payload, 0)
    except StopIteration:
        return json.loads(payload)
    return value if end == len(payload) else json.loads(payload)


def _text_of(parts: list[Any]) -> str | None:
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "".join(texts) if texts else None


class TurnAccumulator:
    """ADK events -> signals, and the merged turn at the end."""

    def __init__(self) -> None:
        self.turn = Turn()
        self._update = TextUpdate(self.turn.reply)

    def feed(self, payload: str) -> list[Signal]:
        signals: list[Signal] = []
        self.feed_into(payload, signals)
        return signals

    def feed_into(self, payload: str, signals: list[Signal]) -> None:
        """Append the signals of one event to ``signals``."""
        try:
            event = _load(payload)
        except ValueError:
            signals.append(Heartbeat("unreadable event"))
            return
        if not isinstance(event, dict):
            signals.append(Heartbeat("unreadable event"))
            return
        self.turn.events += 1
        if "error" in event and "content" not in event:
            message = str(event.get("error") or "the backend reported an error")
            self.turn.error = message
            signals.append(Failure(message))
            return
        before = len(signals)
        content = event.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        parts = parts if isinstance(parts, list) else []
        text = _text_of(parts)
        if text is not None:
            self._merge_text(event, text)
            signals.append(self._update)
        for part in parts:
            if not isinstance(part, dict) or len(part) == 1 and "text" in part:
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
        if len(signals) == before:
            self.turn.heartbeats += 1
            signals.append(Heartbeat("no content"))

    def _merge_text(self, event: dict[str, Any], text: str) -> None:
        raw_id = event.get("id")
        event_id = raw_id if isinstance(raw_id, str) and raw_id else None
        if event.get("partial") is True:
            self.turn.reply.append(event_id, text)
        else:
            self.turn.reply.replace(event_id, text)

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
        return self._drain(self._events.feed_lines(self._lines.feed(chunk)))

    def close(self) -> list[Signal]:
        items = self._events.feed_lines(self._lines.flush())
        return self._drain(items + self._events.flush())

    def _drain(self, items: list[str | Heartbeat]) -> list[Signal]:
        signals: list[Signal] = []
        feed_into = self.accumulator.feed_into
        for item in items:
            if isinstance(item, str):
                feed_into(item, signals)
            else:
                self.turn.heartbeats += 1
                signals.append(item)
        return signals
