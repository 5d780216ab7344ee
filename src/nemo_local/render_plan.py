"""Turn a draft into a render plan: every timing, motion, transition and mixing decision.

Pure: no I/O. ``filtergraph`` turns the plan into the FFmpeg command; ``encode`` probes the
media, prepares photos and text images and runs it. Every rule below is unit-tested without
FFmpeg.

Rules (pictures are timed in whole frames at ``fps``, sound in milliseconds):

- The draft is read by :func:`nemo_local.draft_reading.read_draft`, the backend's own reader;
  the shared fixture drafts keep it in agreement with the timeline summary the user reads (on
  every start, length, volume and role).
- Length: the draft's end (latest segment end over all tracks), in whole frames.
- Canvas: ``canvas`` width/height (or w/h), else the default; sides rounded down to even numbers
  (at least 32), and scaled down, keeping the shape, to at most the area of 1080x1920.
- The first video track is the base: segments in start order, a segment that overlaps the next
  is cut where the next starts, gaps and the end are black. Later video tracks are drawn over
  it, full frame, at their own times, without transitions.
- Photos and videos *cover* the frame (scaled until both sides are filled, centre crop), as
  short-video apps do: no letterbox bars.
- Photos move (``motion``): zoom_in (default; 1.00 -> 1.12), zoom_out, pan_left / pan_right
  (the view travels left / right across the photo at 1.12), none. The move spans the whole
  rendered clip, transition tail included, with sub-pixel smoothness (``motion.window``).
- Transitions: a piece with ``transition`` (fade, slide; unknown names fade) blends into
  whatever follows it on screen, black included, over ``transition_ms`` (default 500). The
  incoming piece starts exactly at its draft start; the outgoing one is rendered that much longer
  and fades out over it, so cut points and total length stay where the draft says. A blend is
  never longer than the piece it blends into.
- Video segments show the file from its start for ``d`` (the last frame held if the file is
  shorter) and keep their sound unless ``mute`` (a dub replaces it).
- Sound: audio segments and kept video sound play from the file's start for ``d``, delayed to
  their start, at ``volume`` (0-1, above 1 a percent), mixed without normalisation so levels are
  honest, cut to the video's length. Mono plays at full level on both sides, as in an editor
  (FFmpeg's own upmix would lower it by 3 dB). Silent (volume 0) or soundless sources are
  dropped; with no sound left the video has no audio stream.
- Text: each text segment is an image (drawn by ``encode``) overlaid, centred, from its start to
  its end: ``title`` in the upper third, ``caption`` in the lower part. A text without a role is
  a title, as the timeline summary calls it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from nemo_local.draft_reading import number, read_draft

MediaKind = Literal["image", "video", "audio"]
Role = Literal["title", "caption"]

MAX_AREA = 1080 * 1920
MIN_SIDE = 32
MAX_DURATION_MS = 30 * 60 * 1000
DEFAULT_TRANSITION_MS = 500
MAX_TRANSITION_MS = 10_000

_TRANSITIONS = {
    "fade": "fade",
    "crossfade": "fade",
    "dissolve": "dissolve",
    "fade_black": "fadeblack",
    "fadeblack": "fadeblack",
    "slide": "slideleft",
    "slide_left": "slideleft",
    "slide_right": "slideright",
    "slide_up": "slideup",
    "slide_down": "slidedown",
    "wipe": "wipeleft",
}
_NO_TRANSITION = {"", "none", "no", "off", "cut", "false", "0"}
_MOTIONS = {"zoom_in", "zoom_out", "pan_left", "pan_right", "none"}
_NO_MOTION = {"", "none", "no", "off", "static", "still", "false", "0"}
_TRUE = {"true", "yes", "1", "on"}


class RenderError(Exception):
    """A render that cannot be made; the message is plain words, safe to show a user."""


@dataclass(frozen=True)
class MediaInfo:
    """What a file holds, as ``encode`` probed it."""

    kind: MediaKind
    has_audio: bool = False
    mono: bool = False


@dataclass(frozen=True)
class Visual:
    """A full-frame piece of picture on the output timeline (frames)."""

    kind: Literal["image", "video", "black"]
    start: int
    frames: int
    media_id: str | None = None
    motion: str = "none"
    transition: str | None = None
    """The xfade name into the next piece; None is a cut."""
    tail: int = 0
    """Frames rendered beyond ``frames``, fading out under the next piece."""

    @property
    def end(self) -> int:
        return self.start + self.frames

    @property
    def length(self) -> int:
        return self.frames + self.tail


@dataclass(frozen=True)
class Sound:
    media_id: str
    start_ms: int
    duration_ms: int
    volume: float
    mono: bool = False


@dataclass(frozen=True)
class Caption:
    text: str
    role: Role
    start: int
    end: int
    """Frames: shown on frames ``start`` to ``end - 1``."""


@dataclass(frozen=True)
class RenderPlan:
    """Everything the command needs, decided; frames at ``fps``."""

    width: int
    height: int
    fps: int
    frames: int
    base: tuple[Visual, ...]
    overlays: tuple[Visual, ...] = ()
    sounds: tuple[Sound, ...] = ()
    captions: tuple[Caption, ...] = ()

    @property
    def duration_ms(self) -> int:
        return (self.frames * 1000 + self.fps // 2) // self.fps

    @property
    def has_audio(self) -> bool:
        return bool(self.sounds)


# Reading


def to_frames(ms: int, fps: int) -> int:
    """Milliseconds to the nearest frame (half up), so every boundary lands on a frame."""
    return (ms * fps + 500) // 1000


def fit_canvas(width: int, height: int) -> tuple[int, int]:
    """Even sides of at least ``MIN_SIDE``, scaled down (same shape) to at most ``MAX_AREA``."""
    if width <= 0 or height <= 0:
        raise ValueError("canvas sides must be positive")
    scale = min(1.0, math.sqrt(MAX_AREA / (width * height)))
    return (max(MIN_SIDE, int(width * scale) // 2 * 2), max(MIN_SIDE, int(height * scale) // 2 * 2))


def canvas_size(draft: Mapping[str, Any], default: tuple[int, int]) -> tuple[int, int]:
    """The draft's canvas (width/height or w/h), else ``default``, through :func:`fit_canvas`."""
    return fit_canvas(*(read_draft(draft).canvas or default))


def needed_media(draft: Mapping[str, Any]) -> list[str]:
    """Media ids the render reads (video and audio segments with a length), in draft order."""
    ids = (
        clip.media_id
        for lane in read_draft(draft).lanes
        if lane.kind in ("video", "audio")
        for clip in lane.clips
        if clip.media_id and clip.duration_ms > 0
    )
    return list(dict.fromkeys(ids))


def plan_render(
    draft: Mapping[str, Any],
    media: Mapping[str, MediaInfo],
    *,
    default_canvas: tuple[int, int] = (1080, 1920),
    fps: int = 30,
) -> RenderPlan:
    """Decide the whole render (rules in the module docstring); RenderError when it can't be."""
    if not 1 <= fps <= 60:
        raise ValueError("fps must be between 1 and 60")
    missing = [m for m in needed_media(draft) if m not in media]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise RenderError(f"media {', '.join(missing)} {verb} missing")
    timeline = read_draft(draft)
    if timeline.duration_ms > MAX_DURATION_MS:
        minutes = timeline.duration_ms // 60_000
        raise RenderError(f"the draft is {minutes} minutes long; the local renderer stops at 30")
    width, height = fit_canvas(*(timeline.canvas or default_canvas))
    total = max(1, to_frames(timeline.duration_ms, fps))
    layers: list[list[Visual]] = []
    sounds: list[Sound] = []
    captions: list[Caption] = []
    for lane in timeline.lanes:
        if lane.kind == "video":
            layers.append([])
        for clip in lane.clips:
            start, end = to_frames(clip.start_ms, fps), to_frames(clip.end_ms, fps)
            meta, media_id = clip.meta, clip.media_id
            if clip.duration_ms <= 0:
                continue
            volume = 1.0 if clip.volume is None else clip.volume
            if lane.kind == "text":
                text = _text(meta)
                if text and end > start:
                    role = _role(meta.get("role")) or _role(lane.meta.get("role")) or "title"
                    captions.append(Caption(text, role, start, min(end, total)))
                continue
            if lane.kind not in ("video", "audio") or not media_id:
                continue
            info = media[media_id]
            muted = lane.kind == "video" and _flag(meta.get("mute"))
            if info.has_audio and not muted and volume > 0:
                sounds.append(Sound(media_id, clip.start_ms, clip.duration_ms, volume, info.mono))
            if lane.kind == "video" and info.kind != "audio" and end > start:
                layers[-1].append(_visual(info.kind, media_id, start, end - start, meta, fps))
    if not any(layer for layer in layers) and not sounds:
        raise RenderError("nothing to render: the draft has no video, image or audio segment")
    base = layers[0] if layers else []
    overlays = tuple(replace(v, transition=None, tail=0) for layer in layers[1:] for v in layer)
    return RenderPlan(
        width=width,
        height=height,
        fps=fps,
        frames=total,
        base=base_timeline(base, total),
        overlays=overlays,
        sounds=tuple(sounds),
        captions=tuple(captions),
    )


def base_timeline(visuals: Sequence[Visual], total: int) -> tuple[Visual, ...]:
    """Tile ``[0, total)``: start order, overlaps cut, black in gaps, transitions clamped."""
    kept: list[Visual] = []
    for visual in sorted(visuals, key=lambda v: v.start):
        while kept and kept[-1].end > visual.start:
            last = kept.pop()
            if last.start < visual.start:
                kept.append(replace(last, frames=visual.start - last.start))
                break
        kept.append(visual)
    pieces: list[Visual] = []
    cursor = 0
    for visual in kept:
        if visual.start > cursor:
            pieces.append(Visual("black", cursor, visual.start - cursor))
        pieces.append(visual)
        cursor = visual.end
    if cursor < total:
        pieces.append(Visual("black", cursor, total - cursor))
    out: list[Visual] = []
    for i, piece in enumerate(pieces):
        following = pieces[i + 1] if i + 1 < len(pieces) else None
        tail = min(piece.tail, following.frames) if following and piece.transition else 0
        out.append(replace(piece, tail=tail, transition=piece.transition if tail else None))
    return tuple(out)


def _visual(
    kind: MediaKind, media_id: str, start: int, frames: int, meta: Mapping[Any, Any], fps: int
) -> Visual:
    transition = _transition(meta.get("transition"))
    ms = number(meta.get("transition_ms"))
    ms = DEFAULT_TRANSITION_MS if ms is None else min(ms, MAX_TRANSITION_MS)
    return Visual(
        kind="image" if kind == "image" else "video",
        start=start,
        frames=frames,
        media_id=media_id,
        motion=_motion(meta.get("motion")) if kind == "image" else "none",
        transition=transition,
        tail=to_frames(int(ms), fps) if transition else 0,
    )


def _word(value: object) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if not isinstance(value, str):
        return None
    return "_".join(value.strip().lower().replace("-", " ").replace("_", " ").split())


def _motion(value: object) -> str:
    word = _word(value)
    if word is None:
        return "zoom_in"
    if word in _NO_MOTION:
        return "none"
    return word if word in _MOTIONS else "zoom_in"


def _transition(value: object) -> str | None:
    word = _word(value)
    if word is None or word in _NO_TRANSITION:
        return None
    return _TRANSITIONS.get(word, "fade")


def _flag(value: object) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value)
    return isinstance(value, str) and value.strip().lower() in _TRUE


def _role(value: object) -> Role | None:
    word = _word(value)
    if word in ("title", "titles"):
        return "title"
    if word in ("caption", "captions", "subtitle", "subtitles"):
        return "caption"
    return None


def _text(meta: Mapping[Any, Any]) -> str | None:
    """``m.text`` with its line breaks kept (the timeline collapses them)."""
    value = meta.get("text")
    if not isinstance(value, str):
        return None
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    return "\n".join(lines) or None
