"""Turn a draft into a render plan, and the plan into the FFmpeg command that makes it.

Pure: no I/O. ``render.py`` probes the media, prepares photos and text images and runs the
command; this module only decides, so every timing rule below is unit-tested without FFmpeg.

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
  rendered clip, transition tail included, with sub-pixel smoothness (``perspective``).
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
- Text: each text segment is an image (drawn by render.py) overlaid, centred, from its start to
  its end: ``title`` in the upper third, ``caption`` in the lower part. A text without a role is
  a title, as the timeline summary calls it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from nemo_local.draft_reading import read_draft

MediaKind = Literal["image", "video", "audio"]
Role = Literal["title", "caption"]

MAX_AREA = 1080 * 1920
MIN_SIDE = 32
MAX_DURATION_MS = 30 * 60 * 1000
ZOOM = 0.12
DEFAULT_TRANSITION_MS = 500
MAX_TRANSITION_MS = 10_000
SAMPLE_RATE = 48_000
X264_PRESET = "ultrafast"
"""Photo motion changes every pixel of every frame, so the encoder's search is most of the cost:
ultrafast takes a third less CPU and 170 MiB less memory than veryfast on the 30 s reference
job, at the same CRF and a higher PSNR to the source (bigger files: ~4.5 Mbit/s at 1080x1920)."""
X264_CRF = 23
AUDIO_BITRATE = "128k"

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
    """What a file holds, as render.py found it."""

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
    ms = _number(meta.get("transition_ms"))
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


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


# The command


def build_command(
    plan: RenderPlan,
    *,
    ffmpeg: str,
    sources: Mapping[str, Path],
    captions: Sequence[Path],
    output: Path,
    threads: int = 2,
    preset: str | None = None,
) -> list[str]:
    """The FFmpeg argument list: ``sources`` maps media ids to files (photos already cover the
    canvas), ``captions`` holds one transparent image per ``plan.captions``."""
    graph = _Graph(plan, sources)
    current = graph.base()
    for i, overlay in enumerate(plan.overlays):
        label = graph.visual(overlay, f"o{i}")
        graph.add(f"[{label}]setpts=PTS+{_sec(overlay.start, plan.fps)}/TB[od{i}]")
        graph.add(f"[{current}][od{i}]overlay=eof_action=pass[ov{i}]")
        current = f"ov{i}"
    for i, (caption, image) in enumerate(zip(plan.captions, captions, strict=True)):
        index = graph.input(image)
        graph.add(
            f"[{current}][{index}:v]overlay=x='(main_w-overlay_w)/2':y='{_text_y(caption.role)}'"
            f":enable='{_window(caption.start, caption.end, plan.fps)}'[t{i}]"
        )
        current = f"t{i}"
    graph.add(f"[{current}]format=yuv420p[vout]")
    maps = ["-map", "[vout]"]
    audio: list[str] = []
    if plan.sounds:
        graph.sound_mix()
        maps += ["-map", "[aout]"]
        audio = ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2"]
    return [
        ffmpeg,
        *("-hide_banner", "-nostdin", "-y", "-loglevel", "error"),
        *("-nostats", "-progress", "pipe:1", "-stats_period", "0.25"),
        *("-filter_threads", str(threads), "-filter_complex_threads", str(threads)),
        *graph.inputs,
        *("-filter_complex", ";".join(graph.filters)),
        *maps,
        *("-c:v", "libx264", "-preset", preset or X264_PRESET, "-crf", str(X264_CRF)),
        *("-pix_fmt", "yuv420p", "-r", str(plan.fps), "-threads", str(threads)),
        *audio,
        *("-t", _sec(plan.frames, plan.fps), "-map_metadata", "-1", "-map_chapters", "-1"),
        *("-movflags", "+faststart", "-f", "mp4", f"file:{output}"),
    ]


class _Graph:
    """Collects inputs and filter chains; labels are unique by construction."""

    def __init__(self, plan: RenderPlan, sources: Mapping[str, Path]) -> None:
        self.plan = plan
        self.sources = sources
        self.inputs: list[str] = []
        self.filters: list[str] = []
        self._count = 0

    def input(self, path: Path, seconds: str | None = None) -> int:
        self.inputs += [*(("-t", seconds) if seconds else ()), "-i", f"file:{path}"]
        self._count += 1
        return self._count - 1

    def add(self, chain: str) -> None:
        self.filters.append(chain)

    def base(self) -> str:
        """The base track as one stream: cuts concatenate, transitions xfade at the cut."""
        fps = self.plan.fps
        current = self.visual(self.plan.base[0], "b0")
        for i in range(1, len(self.plan.base)):
            prev, label = self.plan.base[i - 1], self.visual(self.plan.base[i], f"b{i}")
            if prev.transition:
                self.add(
                    f"[{current}][{label}]xfade=transition={prev.transition}"
                    f":duration={_sec(prev.tail, fps)}:offset={_sec(prev.end, fps)}[x{i}]"
                )
            else:
                # concat outputs a microsecond timebase (which xfade refuses) and misjudges a
                # one-frame piece's length; the chain is gapless, so renumber the frames
                self.add(f"[{current}][{label}]concat=n=2:v=1:a=0,settb=1/{fps},setpts=N[x{i}]")
            current = f"x{i}"
        return current

    def visual(self, v: Visual, label: str) -> str:
        """One piece as exactly ``v.length`` canvas-sized yuv420p frames at ``fps``."""
        w, h, fps, n = self.plan.width, self.plan.height, self.plan.fps, v.length
        if v.kind == "black" or v.media_id is None:
            head, steps = f"color=c=black:s={w}x{h}:r={fps},", ["format=yuv420p"]
        elif v.kind == "image":
            head = f"[{self.input(self.sources[v.media_id])}:v]"
            steps = ["format=yuv420p", "loop=loop=-1:size=1", f"setpts=N/({fps}*TB)", f"fps={fps}"]
        else:
            index = self.input(self.sources[v.media_id], _sec(n + 1, fps))
            head = f"[{index}:v]"
            steps = [
                *("setpts=PTS-STARTPTS", f"fps={fps}"),
                *(f"scale={w}:{h}:force_original_aspect_ratio=increase", f"crop={w}:{h}"),
                *("format=yuv420p", "tpad=stop=-1:stop_mode=clone"),
            ]
        steps += [f"trim=end_frame={n}", "setpts=PTS-STARTPTS", "setsar=1"]
        if v.kind == "image" and v.motion != "none":
            steps.append(motion_filter(v.motion, n))
        self.add(head + ",".join(steps) + f"[{label}]")
        return label

    def sound_mix(self) -> None:
        """Each sound trimmed, levelled and delayed; mixed unnormalised; padded and cut."""
        sounds = self.plan.sounds
        for j, s in enumerate(sounds):
            seconds = f"{s.duration_ms / 1000:.3f}"
            index = self.input(self.sources[s.media_id], seconds)
            upmix = "pan=stereo|c0=c0|c1=c0," if s.mono else ""
            self.add(
                f"[{index}:a]atrim=duration={seconds},asetpts=PTS-STARTPTS,{upmix}"
                f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo,"
                f"volume={s.volume:.4f},adelay=delays={s.start_ms}:all=1[s{j}]"
            )
        mixed = "s0"
        if len(sounds) > 1:
            ins = "".join(f"[s{j}]" for j in range(len(sounds)))
            self.add(f"{ins}amix=inputs={len(sounds)}:duration=longest:normalize=0[mix]")
            mixed = "mix"
        total = _sec(self.plan.frames, self.plan.fps)
        self.add(f"[{mixed}]apad=whole_dur={total},atrim=duration={total}[aout]")


def motion_filter(motion: str, frames: int) -> str:
    """A Ken Burns move over ``frames`` as a per-frame ``perspective`` (sub-pixel smooth:
    zoompan steps in whole pixels and jitters unless the photo is upscaled first, which is slow).
    The window (``W/z`` by ``H/z``) slides from its left edge (fx 0) to its right (fx 1)."""
    p = f"(in/{max(frames - 1, 1)})"
    fx = "0.5"
    if motion == "zoom_in":
        z = f"(1+{ZOOM}*{p})"
    elif motion == "zoom_out":
        z = f"(1+{ZOOM}*(1-{p}))"
    else:
        z = f"{1 + ZOOM}"
        fx = p if motion == "pan_right" else f"(1-{p})"
    x0, y0 = f"{fx}*(W-W/{z})", f"0.5*(H-H/{z})"
    x1, y2 = f"{x0}+W/{z}", f"{y0}+H/{z}"
    corners = {"x0": x0, "y0": y0, "x1": x1, "y1": y0, "x2": x0, "y2": y2, "x3": x1, "y3": y2}
    values = ":".join(f"{k}='{v}'" for k, v in corners.items())
    return f"perspective={values}:interpolation=linear:eval=frame"


def _text_y(role: Role) -> str:
    if role == "title":
        return "max(main_h*0.06,main_h*0.22-overlay_h/2)"
    return "min(main_h*0.78-overlay_h/2,main_h*0.93-overlay_h)"


def _window(start: int, end: int, fps: int) -> str:
    """Frames ``start`` to ``end - 1``, with half-frame margins against float rounding of t."""
    return f"gte(t,{(start - 0.5) / fps:.4f})*lt(t,{(end - 0.5) / fps:.4f})"


def _sec(frames: int, fps: int) -> str:
    return f"{frames / fps:.6f}"
