"""The embedded backend's own reading of a draft, for the renderer. Pure.

The backend plays the cloud: it writes drafts (``drafts``) and renders them, and it reads them
without the client's code, so a misreading on either side shows up as a disagreement in the
shared fixture drafts (``tests/fixtures/drafts``) checked against ``docs/draft-format.md``.

Lenient as the format asks: tracks and segments that are not objects are skipped, a segment
without a start follows the previous one, volumes are 0-1 or a percent above 1, the canvas is
``width``/``height`` or ``w``/``h``. Each clip keeps its whole ``m``, because the renderer reads
keys (motion, transition, mute, line breaks) that no summary needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

LaneKind = Literal["video", "audio", "text", "other"]

_CODES: dict[int, LaneKind] = {0: "video", 1: "audio", 7: "text"}
_KIND_WORDS: dict[str, LaneKind] = {"video": "video", "image": "video", "audio": "audio"}
_KIND_WORDS["text"] = "text"
START_KEYS = ("st", "s", "start")
_MAX_MS = 10**10


@dataclass(frozen=True)
class Clip:
    """One segment: times in ms, and its metadata as written."""

    start_ms: int
    duration_ms: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    @property
    def media_id(self) -> str | None:
        value = self.meta.get("media_id")
        return value if isinstance(value, str) and value else None

    @property
    def volume(self) -> float | None:
        """0-1; above 1, or written with "%", a percent; anything else is None (full level)."""
        raw = self.meta.get("volume")
        percent = isinstance(raw, str) and raw.strip().endswith("%")
        found = number(raw.strip().removesuffix("%") if isinstance(raw, str) else raw)
        if found is None:
            return None
        return min(found / 100 if percent or found > 1 else found, 1.0)


@dataclass(frozen=True)
class Lane:
    """One track: what it holds (from ``tt``) and its clips in draft order."""

    kind: LaneKind
    clips: tuple[Clip, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftReading:
    lanes: tuple[Lane, ...] = ()
    canvas: tuple[int, int] | None = None

    @property
    def duration_ms(self) -> int:
        """The latest clip end over all tracks."""
        return max((c.end_ms for lane in self.lanes for c in lane.clips), default=0)


def read_draft(draft: Mapping[str, Any]) -> DraftReading:
    """Read ``draft``; never raises on JSON-like input (junk reads as empty)."""
    lanes = tuple(_lane(t) for t in _objects(draft.get("t")))
    return DraftReading(lanes=lanes, canvas=_canvas(draft.get("canvas")))


def _lane(track: Mapping[str, Any]) -> Lane:
    clips: list[Clip] = []
    cursor = 0
    for segment in _objects(track.get("sg")):
        start = next((ms for k in START_KEYS if (ms := ms_of(segment.get(k))) is not None), cursor)
        clip = Clip(start, ms_of(segment.get("d")) or 0, _meta(segment))
        clips.append(clip)
        cursor = clip.end_ms
    return Lane(_kind(track, clips), tuple(clips), _meta(track))


def _kind(track: Mapping[str, Any], clips: Sequence[Clip]) -> LaneKind:
    """``tt`` decides; a draft without one is read by its clips' ``kind``."""
    code = track.get("tt")
    if isinstance(code, int) and not isinstance(code, bool):
        return _CODES.get(code, "other")
    words = (c.meta.get("kind") for c in clips)
    return next((_KIND_WORDS[w] for w in words if isinstance(w, str) and w in _KIND_WORDS), "other")


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


def _meta(node: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = node.get("m")
    return meta if isinstance(meta, Mapping) else {}


def number(value: object) -> float | None:
    """A finite, non-negative number (numeric strings too); else None. The backend's one reading
    of a number in a draft: its editor (``drafts``) and renderer (``render_plan``) use it too."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        found = float(value)
    except (ValueError, OverflowError):
        return None
    return found if math.isfinite(found) and found >= 0 else None


def ms_of(value: object) -> int | None:
    """Milliseconds, whole: how the backend (editor and renderer alike) reads a time."""
    found = number(value)
    return None if found is None or found > _MAX_MS else int(found + 0.5)


def _canvas(value: object) -> tuple[int, int] | None:
    if not isinstance(value, Mapping):
        return None
    sides = (
        number(value.get("width", value.get("w"))),
        number(value.get("height", value.get("h"))),
    )
    if not all(s is not None and s.is_integer() and s > 0 for s in sides):
        return None
    width, height = (int(s) for s in sides if s is not None)
    return width, height
