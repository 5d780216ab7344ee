"""Reading a draft leniently into a ``Timeline`` (rules in ``nemo_mcp.timeline``). Pure.

It never trusts the shape and never raises on any JSON-like input: junk reads as empty.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nemo_mcp.timeline.model import Role, Segment, Timeline, Track, TrackKind

_MAX_MS = 10**10  # about 116 days: anything longer is garbage, not a video
_MAX_WRAPS = 4
_TYPE_CODES: dict[int, TrackKind] = {0: "video", 1: "audio", 7: "text"}
_KIND_WORDS: dict[str, TrackKind] = {
    "video": "video",
    "image": "video",
    "audio": "audio",
    "text": "text",
}
_ROLE_SYNONYMS: dict[Role, tuple[str, ...]] = {
    "bgm": ("bgm", "music", "background music", "soundtrack"),
    "voice": ("voice", "voiceover", "voice over", "narration", "dub", "dubbing"),
    "title": ("title", "titles"),
    "caption": ("caption", "captions", "subtitle", "subtitles"),
}
_ROLE_WORDS = {word: role for role, words in _ROLE_SYNONYMS.items() for word in words}
_ROLE_KEYS = ("role", "type", "kind", "category")
_LABEL_KEYS = ("name", "title", "text")


def parse_draft(raw: object) -> Timeline:
    """Read a draft (or a state/envelope holding one); never raises, junk reads as empty."""
    draft, canvas_hint = _unwrap(raw)
    tracks: list[Track] = []
    for item in _seq(draft, "t", "tracks"):
        if isinstance(item, Mapping):
            tracks.append(_parse_track(item, len(tracks) + 1))
    end = max((t.end_ms for t in tracks), default=0)
    return Timeline(
        tracks=tuple(tracks),
        duration_ms=end or _first_ms(draft, ("d", "duration")) or 0,
        canvas=_canvas(draft.get("canvas")) or _canvas(canvas_hint),
    )


def _unwrap(raw: object) -> tuple[Mapping[Any, Any], object]:
    """Peel JSON text and ``data``/``state``/``draft`` wrappers; keep ``canvas_config``."""
    node, hint = raw, None
    for _ in range(_MAX_WRAPS):
        if isinstance(node, str | bytes):
            node = _loads(node)
        if not isinstance(node, Mapping) or "t" in node or "tracks" in node:
            break
        hint = node.get("canvas_config", hint)
        inner = next((node[k] for k in ("draft", "state", "data") if node.get(k) is not None), None)
        if inner is None:
            break
        node = inner
    return (node if isinstance(node, Mapping) else {}), hint


def _loads(text: str | bytes) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _parse_track(item: Mapping[Any, Any], index: int) -> Track:
    meta = _meta(item)
    raw_segments = [s for s in _seq(item, "sg", "segments") if isinstance(s, Mapping)]
    segments = _parse_segments(raw_segments)
    own_label = _label(meta)
    metas = [meta, *(_meta(s) for s in raw_segments)]
    roles = [_role_word(m.get(k)) for m in metas for k in _ROLE_KEYS]
    roles.append(_role_word(own_label))  # a track named "Music" or "Subtitles", last
    kind, code = _track_kind(item, segments, roles)
    volume = _volume(meta.get("volume"))
    if volume is None:
        levels = {s.volume_pct for s in segments if s.volume_pct is not None}
        volume = levels.pop() if len(levels) == 1 else None
    return Track(
        index=index,
        kind=kind,
        type_code=code,
        role=next((r for r in roles if r and _role_kind(r) == kind), None),
        own_label=own_label,
        volume_pct=volume,
        segments=segments,
    )


def _parse_segments(items: Iterable[Mapping[Any, Any]]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    cursor = 0
    for item in items:
        meta = _meta(item)
        start = _first_ms(item, ("st", "s", "start"))
        start = cursor if start is None else start
        duration = _first_ms(item, ("d", "duration")) or 0
        segments.append(
            Segment(
                start_ms=start,
                duration_ms=duration,
                label=_label(meta),
                text=_str(meta.get("text")),
                volume_pct=_volume(meta.get("volume")),
                media_id=_str(meta.get("media_id")),
                kind=_str(meta.get("kind")),
            )
        )
        cursor = start + duration
    return tuple(segments)


def _track_kind(
    item: Mapping[Any, Any], segments: Sequence[Segment], roles: Sequence[Role | None]
) -> tuple[TrackKind, int | None]:
    """The type code decides; without one, a type word, the segments' kinds, then the role."""
    for key in ("tt", "type"):
        code = _int(item.get(key))
        if code is not None:
            return _TYPE_CODES.get(code, "other"), code
        value = item.get(key)
        word = _KIND_WORDS.get(value.strip().lower()) if isinstance(value, str) else None
        if word:
            return word, None
    for segment in segments:
        word = _KIND_WORDS.get((segment.kind or "").lower())
        if word:
            return word, None
    role = next((r for r in roles if r), None)
    return (_role_kind(role) if role else "other"), None


def _role_kind(role: Role) -> TrackKind:
    return "audio" if role in ("bgm", "voice") else "text"


def _seq(node: Mapping[Any, Any], *keys: str) -> Sequence[object]:
    return next((v for k in keys if isinstance(v := node.get(k), list | tuple)), ())


def _meta(node: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return next((v for k in ("m", "metadata") if isinstance(v := node.get(k), Mapping)), {})


def _str(value: object) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _label(meta: Mapping[Any, Any]) -> str | None:
    return next((s for k in _LABEL_KEYS if (s := _str(meta.get(k)))), None)


def _role_word(value: object) -> Role | None:
    if not isinstance(value, str):
        return None
    return _ROLE_WORDS.get(" ".join(value.lower().replace("-", " ").replace("_", " ").split()))


def _number(value: object) -> float | None:
    """A finite, non-negative number from an int, float or numeric string; else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _ms(value: object) -> int | None:
    number = _number(value)
    return None if number is None or number > _MAX_MS else int(number + 0.5)


def _first_ms(node: Mapping[Any, Any], keys: Sequence[str]) -> int | None:
    return next((ms for k in keys if (ms := _ms(node.get(k))) is not None), None)


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _volume(value: object) -> int | None:
    """0-1 is a fraction, above 1 a percent; a trailing "%" always means percent."""
    if isinstance(value, str) and value.strip().endswith("%"):
        percent = _number(value.strip()[:-1])
    else:
        number = _number(value)
        percent = None if number is None else number * 100 if number <= 1 else number
    return None if percent is None else int(min(percent, 100.0) + 0.5)


def _canvas(value: object) -> tuple[int, int] | None:
    if not isinstance(value, Mapping):
        return None
    width = _int(value.get("width", value.get("w")))
    height = _int(value.get("height", value.get("h")))
    return (width, height) if width and height else None
