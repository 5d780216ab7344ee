"""The FFmpeg command that makes a render plan (``render_plan``): inputs, the filter graph, the
encoder settings. Pure: it builds an argument list and runs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nemo_local.render_plan import RenderPlan, Role, Visual

ZOOM = 0.12
"""How far photos zoom or pan (1.00 -> 1.12)."""
SAMPLE_RATE = 48_000
X264_PRESET = "ultrafast"
"""Photo motion changes every pixel of every frame, so the encoder's search is most of the cost:
ultrafast takes a third less CPU and 170 MiB less memory than veryfast on the 30 s reference
job, at the same CRF and a higher PSNR to the source (bigger files: ~4.5 Mbit/s at 1080x1920)."""
X264_CRF = 23
AUDIO_BITRATE = "128k"


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
