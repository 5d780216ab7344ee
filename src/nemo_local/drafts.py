"""Pure helpers that read and rewrite a draft (the ``t``/``tt``/``sg``/``d``/``m`` shape of
``docs/draft-format.md``). Readers are lenient (missing keys, strange values); writers always set
``st`` and ``d`` so the next reader needs no guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemo_local.draft_reading import START_KEYS, ms_of

VIDEO = 0
AUDIO = 1
TEXT = 7
TITLE_MS = 3000
TRANSITION_MS = 500
MOTIONS = ("zoom_in", "zoom_out", "pan_left", "pan_right")
_ORDER = {VIDEO: 0, AUDIO: 1, TEXT: 2}

Track = dict[str, Any]
Segment = dict[str, Any]


def tracks(draft: Mapping[str, Any]) -> list[Track]:
    """The draft's tracks that look like tracks (dicts); anything else is skipped."""
    raw = draft.get("t")
    return [t for t in raw if isinstance(t, dict)] if isinstance(raw, list) else []


def segments(track: Mapping[str, Any]) -> list[Segment]:
    raw = track.get("sg")
    return [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []


def spans(track: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(start, end) in ms of each segment, read as the renderer reads them
    (``draft_reading``); a missing start follows the previous segment."""
    out: list[tuple[int, int]] = []
    cursor = 0
    for seg in segments(track):
        start = next((n for k in START_KEYS if (n := ms_of(seg.get(k))) is not None), cursor)
        end = start + (ms_of(seg.get("d")) or 0)
        out.append((start, end))
        cursor = end
    return out


def video_length(draft: Mapping[str, Any]) -> int:
    """Where the last video segment ends (0 with no video)."""
    ends = [end for t in tracks(draft) if t.get("tt") == VIDEO for _, end in spans(t)]
    return max(ends, default=0)


def role(track: Mapping[str, Any]) -> str | None:
    """A track's role: its own ``m.role``, else its first segment's."""
    meta = track.get("m")
    if isinstance(meta, dict) and isinstance(meta.get("role"), str):
        return str(meta["role"])
    for seg in segments(track):
        seg_meta = seg.get("m")
        if isinstance(seg_meta, dict) and isinstance(seg_meta.get("role"), str):
            return str(seg_meta["role"])
    return None


def find(draft: Mapping[str, Any], tt: int, track_role: str | None = None) -> Track | None:
    """The first track of type ``tt`` (and ``track_role`` when given)."""
    for track in tracks(draft):
        if track.get("tt") == tt and (track_role is None or role(track) == track_role):
            return track
    return None


def put(draft: dict[str, Any], track: Track) -> None:
    """Replace the track of the same type and role, or insert it in video/audio/text order."""
    tt: int = track["tt"]
    track_role = role(track)
    current = tracks(draft)
    for i, old in enumerate(current):
        if old.get("tt") == tt and (tt == VIDEO or role(old) == track_role):
            current[i] = track
            draft["t"] = current
            return
    rank = _rank(tt)
    at = next((i for i, t in enumerate(current) if _rank(t.get("tt")) > rank), None)
    current.insert(len(current) if at is None else at, track)
    draft["t"] = current


def _rank(tt: Any) -> int:
    return _ORDER.get(tt, 3) if isinstance(tt, int) else 3


def remove(draft: dict[str, Any], tt: int, track_role: str) -> bool:
    """Drop the tracks of that type and role; whether there was one."""
    current = tracks(draft)
    kept = [t for t in current if not (t.get("tt") == tt and role(t) == track_role)]
    draft["t"] = kept
    return len(kept) != len(current)


def single(tt: int, name: str, track_role: str | None, seg: Segment) -> Track:
    """A track holding one segment."""
    meta: dict[str, Any] = {"name": name}
    if track_role:
        meta["role"] = track_role
    return {"tt": tt, "m": meta, "sg": [seg]}


def segment(start: int, duration: int, **meta: Any) -> Segment:
    return {"st": start, "d": duration, "m": meta}


def lay_out(segs: list[Segment], durations: list[int]) -> None:
    """Give ``segs`` these durations back to back from 0; transitions stay shorter than half."""
    cursor = 0
    for seg, duration in zip(segs, durations, strict=True):
        seg["st"], seg["d"] = cursor, duration
        meta = seg.get("m")
        if isinstance(meta, dict) and isinstance(meta.get("transition_ms"), int | float):
            meta["transition_ms"] = min(int(meta["transition_ms"]), duration // 2)
        cursor += duration


def rescale(track: Track, total_ms: int) -> None:
    """Stretch or shrink the segments proportionally to ``total_ms`` (the last takes the rest)."""
    segs = segments(track)
    if not segs:
        return
    old = [max(1, end - start) for start, end in spans(track)]
    whole = sum(old)
    durations = [max(1, round(total_ms * d / whole)) for d in old[:-1]]
    durations.append(max(1, total_ms - sum(durations)))
    lay_out(segs, durations)


def refit(draft: dict[str, Any]) -> None:
    """After the video changed: music and captions span it, the title stays within it, a voice
    is cut at its end."""
    length = video_length(draft)
    if length <= 0:
        return
    for track in tracks(draft):
        kind = role(track)
        segs = segments(track)
        if not segs or track.get("tt") not in (AUDIO, TEXT):
            continue
        if kind in ("bgm", "caption"):
            lay_out(segs[:1], [length])
            track["sg"] = segs[:1]
        elif kind == "title":
            lay_out(segs[:1], [min(TITLE_MS, length)])
            track["sg"] = segs[:1]
        elif kind == "voice":
            start, end = spans(track)[0]
            lay_out(segs[:1], [max(1, min(end - start, length))])
