"""Read a NemoVideo draft leniently and describe it in plain words.

Pure: no I/O. The cloud documents the draft only as far as ``t``/``tt``/``sg``/``d``/``m``
(DESIGN section 5; our fuller convention is docs/draft-format.md), so the reader never trusts
the shape and never raises on any JSON-like input.

Reading rules (:func:`parse_draft`):

- Input is the draft itself, or a wrapper holding it: a state dict with ``draft``, the state
  answer with ``state``, or the envelope with ``data`` (``canvas_config`` beside the draft is
  used when the draft has no ``canvas``). A ``str``/``bytes`` holding JSON is decoded first.
- Short keys win, long spellings are the fallback: ``t``/``tracks``, ``tt``/``type``,
  ``sg``/``segments``, ``d``/``duration``, ``m``/``metadata``. The first *usable* value wins.
- Numbers may be ints, floats or numeric strings; bools, negatives, NaN, infinities, garbage
  and times over ``_MAX_MS`` count as missing. Milliseconds round half up.
- ``tt`` 0/1/7 is video/audio/text, any other code "other"; without a code, a word in ``type``
  or the segments' ``m.kind`` or the role decides. Non-dict tracks and segments are skipped;
  ``index`` counts the tracks kept, from 1.
- A segment starts at ``st``, ``s`` or ``start``, else where the track's previous segment ended;
  a missing duration is 0. Its label is ``m.name``, ``m.title`` or ``m.text`` (strings only,
  whitespace collapsed); text segments show ``m.text`` first.
- Volume (``m.volume``): 0-1 is a fraction, above 1 a percent (``"35%"`` too), clamped to 100.
  A track's level is its own ``m.volume``, else the one level all its segments agree on.
- Role comes from ``m.role``/``type``/``kind``/``category`` (track, then segments), else from a
  track named like a role ("Music", "Subtitles"); only audio (bgm, voice) and text (title,
  caption) tracks keep one.
- ``duration_ms`` is the latest segment end (the draft's own ``d`` only when nothing has length).

Summary rules (:func:`summarize`): ``Timeline (N tracks): 1. Video: x (0-10s) 2. ...``
("1 track"; no tracks gives ``Timeline (0 tracks): empty``). Names: Video; BGM (audio with role
bgm) or Audio; Title or Caption (role caption), text quoted with double quotes; Track for other
codes. The span is the earliest start to the latest end, in seconds rounded half up to a tenth,
whole seconds without a decimal ("0-2.5s", "0-10s"); a track without segments says "empty". Audio
with a known level adds ", 35%". Two labels are shown, then "+N more"; without labels the track's
own label, else "untitled" or "3 clips". Labels over ``_MAX_LABEL`` characters are cut with "...".

Diff rules (:func:`diff`): tracks are matched by name and order within that name. Video tracks
are always numbered (like an editor's V1, V2); other names only when either draft has more
than one ("BGM", "Audio 2"). One line per change, canvas first, then tracks in the earlier
draft's order, then new tracks: removed, added (with the label and span), clips added/removed,
label replaced (text: changed), media replaced, trimmed/extended/moved, clips retimed, volume.
A track whose name changes (Audio becomes BGM) reads as removed and added; a canvas is compared
only when the new draft states one; keys the summary never shows (motion, transitions) are not
compared, so such an edit reads as "No visible change".
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

TrackKind = Literal["video", "audio", "text", "other"]
Role = Literal["bgm", "voice", "title", "caption"]

_MAX_MS = 10**10  # about 116 days: anything longer is garbage, not a video
_MAX_LABEL = 40
_SHOWN_LABELS = 2
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
_NO_CHANGE = "No visible change to the timeline."
_SUMMARY_QUOTE = '"'  # text in a summary: Title: "Urban Dreams"
_DIFF_QUOTE = "'"  # any label in a diff: Title added: 'Paradise Found'


class Segment(BaseModel):
    """One clip, sound or text on a track; times in milliseconds."""

    model_config = ConfigDict(frozen=True)

    start_ms: int
    duration_ms: int
    label: str | None = None
    text: str | None = None
    volume_pct: int | None = None
    media_id: str | None = None
    kind: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


class Track(BaseModel):
    """One track as the summary names it; ``own_label`` is the track's own ``m`` label."""

    model_config = ConfigDict(frozen=True)

    index: int
    kind: TrackKind
    type_code: int | None = None
    role: Role | None = None
    own_label: str | None = None
    volume_pct: int | None = None
    segments: tuple[Segment, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        """What the summary calls the track: Video, BGM, Audio, Title, Caption or Track."""
        if self.kind == "audio":
            return "BGM" if self.role == "bgm" else "Audio"
        if self.kind == "text":
            return "Caption" if self.role == "caption" else "Title"
        return "Video" if self.kind == "video" else "Track"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str | None:
        """The display label ("beach.jpg, hills.jpg +1 more"), or None when nothing is named."""
        return _phrase(self, "")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def start_ms(self) -> int:
        return min((s.start_ms for s in self.segments), default=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def end_ms(self) -> int:
        return max((s.end_ms for s in self.segments), default=0)


class Timeline(BaseModel):
    """A draft as read: its tracks, its length and its canvas (None when not given)."""

    model_config = ConfigDict(frozen=True)

    tracks: tuple[Track, ...] = ()
    duration_ms: int = 0
    canvas: tuple[int, int] | None = None


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


def summarize(timeline: Timeline) -> str:
    """The one-line summary the seeds show users (format in the module docstring)."""
    head = f"Timeline ({_count(len(timeline.tracks), 'track')})"
    if not timeline.tracks:
        return f"{head}: empty"
    entries = (
        f"{t.index}. {t.name}: {_entry(t, _SUMMARY_QUOTE if t.kind == 'text' else '')}"
        for t in timeline.tracks
    )
    return f"{head}: " + " ".join(entries)


def is_ready(timeline: Timeline) -> bool:
    """Exportable when a track has a non-empty ``sg`` (DESIGN section 5); non-dicts don't count."""
    return any(track.segments for track in timeline.tracks)


def diff(before: Timeline, after: Timeline) -> list[str]:
    """What changed, one plain sentence per change, in a stable order; [] when nothing did."""
    changes: list[str] = []
    if after.canvas is not None and after.canvas != before.canvas:
        changes.append(f"Canvas changed to {after.canvas[0]}x{after.canvas[1]}")
    old, new = _keyed(before), _keyed(after)
    most = Counter(n for n, _ in old) | Counter(n for n, _ in new)
    for key in [*old, *(k for k in new if k not in old)]:
        name, number = key
        ref = f"{name} {number}" if name == "Video" or most[name] > 1 else name
        a, b = old.get(key), new.get(key)
        if b is None:
            changes.append(f"{ref} removed")
        elif a is None:
            changes.append(f"{ref} added: {_entry(b, _DIFF_QUOTE)}")
        else:
            changes.extend(_track_changes(ref, a, b))
    return changes


def describe_changes(before: Timeline, after: Timeline) -> str:
    """The diff as one sentence, so a silent edit is never answered with silence."""
    return "; ".join(diff(before, after)) or _NO_CHANGE


# Reading


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


# Wording


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _noun(track: Track) -> str:
    return "text" if track.kind == "text" else "clip"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 3].rstrip() + "..."


def _phrase(track: Track, quote: str) -> str | None:
    """Segment labels first (two, then "+N more"), else the track's own label, else None."""
    prefer_text = track.kind == "text"
    names = [n for s in track.segments if (n := (s.text if prefer_text else None) or s.label)]
    if names:
        shown = names[:_SHOWN_LABELS]
        phrase = ", ".join(f"{quote}{_clip(n)}{quote}" for n in shown)
        more = len(track.segments) - len(shown)
        return f"{phrase} +{more} more" if more else phrase
    return f"{quote}{_clip(track.own_label)}{quote}" if track.own_label else None


def _span(track: Track) -> str:
    return f"{_seconds(track.start_ms)}-{_seconds(track.end_ms)}s" if track.segments else "empty"


def _seconds(ms: int) -> str:
    whole, tenth = divmod((ms + 50) // 100, 10)
    return f"{whole}.{tenth}" if tenth else str(whole)


def _named(track: Track, quote: str) -> str:
    """The phrase, or "untitled" / "3 clips" when nothing is named."""
    n = len(track.segments)
    return _phrase(track, quote) or (_count(n, _noun(track)) if n > 1 else "untitled")


def _entry(track: Track, quote: str) -> str:
    """``label (0-10s, 35%)``: the part of a summary line after the track's name."""
    volume = track.volume_pct
    level = f", {volume}%" if track.kind == "audio" and volume is not None else ""
    return f"{_named(track, quote)} ({_span(track)}{level})"


# Diff


def _keyed(timeline: Timeline) -> dict[tuple[str, int], Track]:
    seen: Counter[str] = Counter()
    keyed: dict[tuple[str, int], Track] = {}
    for track in timeline.tracks:
        seen[track.name] += 1
        keyed[(track.name, seen[track.name])] = track
    return keyed


def _track_changes(ref: str, a: Track, b: Track) -> list[str]:
    changes: list[str] = []
    count_a, count_b, noun = len(a.segments), len(b.segments), _noun(b)
    if count_b != count_a:
        verb = "added" if count_b > count_a else "removed"
        changes.append(f"{ref}: {_count(abs(count_b - count_a), noun)} {verb} (now {count_b})")
    elif (old := _named(a, _DIFF_QUOTE)) != (new := _named(b, _DIFF_QUOTE)):
        changes.append(f"{ref} {'changed' if b.kind == 'text' else 'replaced'}: {old} -> {new}")
    elif [s.media_id for s in a.segments] != [s.media_id for s in b.segments]:
        changes.append(f"{ref}: media replaced")
    if count_a and count_b:
        length_a, length_b = a.end_ms - a.start_ms, b.end_ms - b.start_ms
        if length_b != length_a:
            verb = "extended" if length_b > length_a else "trimmed"
            changes.append(f"{ref} {verb} to {_span(b)}")
        elif a.start_ms != b.start_ms:
            changes.append(f"{ref} moved to {_span(b)}")
        elif count_a == count_b and _timings(a) != _timings(b):
            changes.append(f"{ref}: {noun}s retimed")
    if a.volume_pct != b.volume_pct:
        if b.volume_pct is None:
            changes.append(f"{ref} volume back to default (was {a.volume_pct}%)")
        elif a.volume_pct is None:
            changes.append(f"{ref} volume set to {b.volume_pct}%")
        else:
            changes.append(f"{ref} volume {a.volume_pct}% -> {b.volume_pct}%")
    return changes


def _timings(track: Track) -> list[tuple[int, int]]:
    return [(s.start_ms, s.duration_ms) for s in track.segments]
