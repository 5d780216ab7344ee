"""The timeline as read from a draft: segments, tracks, their names and labels. Pure.

The reading rules are in ``nemo_mcp.timeline``'s docstring; this module holds the typed result
and the names and labels a track shows (used by the summary and the diff alike).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

TrackKind = Literal["video", "audio", "text", "other"]
Role = Literal["bgm", "voice", "title", "caption"]

MAX_LABEL = 40
SHOWN_LABELS = 2


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
        return phrase(self, "")

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


def is_ready(timeline: Timeline) -> bool:
    """Exportable when a track has a non-empty ``sg`` (DESIGN section 5); non-dicts don't count."""
    return any(track.segments for track in timeline.tracks)


def clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 3].rstrip() + "..."


def phrase(track: Track, quote: str) -> str | None:
    """Segment labels first (two, then "+N more"), else the track's own label, else None."""
    prefer_text = track.kind == "text"
    names = [n for s in track.segments if (n := (s.text if prefer_text else None) or s.label)]
    if names:
        shown = names[:SHOWN_LABELS]
        phrase = ", ".join(f"{quote}{clip(n)}{quote}" for n in shown)
        more = len(track.segments) - len(shown)
        return f"{phrase} +{more} more" if more else phrase
    return f"{quote}{clip(track.own_label)}{quote}" if track.own_label else None
