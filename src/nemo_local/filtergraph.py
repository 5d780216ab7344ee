"""The FFmpeg commands of a render (``render_plan``): the encoder (raw frames in, captions
drawn over them, sounds mixed, H.264 + AAC out), a clip's decoder and a photo's conversion to
yuv420p. Pure: they build argument lists and run nothing; ``picture`` makes the frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nemo_local.render_plan import RenderPlan, Role

SAMPLE_RATE = 48_000
X264_PRESET = "ultrafast"
"""Photo motion changes every pixel of every frame, so the encoder's search is most of the cost:
ultrafast takes a third less CPU and 170 MiB less memory than veryfast on the 30 s reference
job, at the same CRF and a higher PSNR to the source (bigger files: ~4.5 Mbit/s at 1080x1920)."""
X264_CRF = 23
AUDIO_BITRATE = "128k"
_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")


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
    """The encoder: ``plan.frames`` raw yuv420p frames on its stdin, ``captions`` (one
    transparent image per ``plan.captions``) overlaid in their windows, the sounds of
    ``sources`` (media id -> file) mixed."""
    size = f"{plan.width}x{plan.height}"
    graph = _Graph(plan, sources)
    graph.inputs += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size]
    graph.inputs += ["-framerate", str(plan.fps), "-i", "pipe:0"]
    graph.count = 1
    current = "0:v"
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


def decode_command(
    ffmpeg: str, source: Path, frames: int, width: int, height: int, fps: int
) -> list[str]:
    """A clip as exactly ``frames`` canvas-sized yuv420p frames on stdout: from its start,
    covering the canvas, the last frame held when the clip is shorter."""
    steps = [
        *("setpts=PTS-STARTPTS", f"fps={fps}"),
        *(f"scale={width}:{height}:force_original_aspect_ratio=increase", f"crop={width}:{height}"),
        *("format=yuv420p", "tpad=stop=-1:stop_mode=clone", f"trim=end_frame={frames}"),
    ]
    return [
        ffmpeg,
        *_QUIET,
        *("-t", _sec(frames + 1, fps), "-i", f"file:{source}", "-an", "-sn"),
        *("-vf", ",".join(steps), "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"),
    ]


def still_command(ffmpeg: str, width: int, height: int, output: Path) -> list[str]:
    """A canvas-sized RGB photo on stdin to yuv420p planes in ``output`` (FFmpeg's own
    conversion, as the photo's frames always had)."""
    return [
        ffmpeg,
        *_QUIET,
        *("-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "pipe:0"),
        *("-vf", "format=yuv420p", "-frames:v", "1", "-f", "rawvideo", f"file:{output}"),
    ]


class _Graph:
    """Collects inputs and filter chains; labels are unique by construction."""

    def __init__(self, plan: RenderPlan, sources: Mapping[str, Path]) -> None:
        self.plan = plan
        self.sources = sources
        self.inputs: list[str] = []
        self.filters: list[str] = []
        self.count = 0

    def input(self, path: Path, seconds: str | None = None) -> int:
        self.inputs += [*(("-t", seconds) if seconds else ()), "-i", f"file:{path}"]
        self.count += 1
        return self.count - 1

    def add(self, chain: str) -> None:
        self.filters.append(chain)

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


def _text_y(role: Role) -> str:
    if role == "title":
        return "max(main_h*0.06,main_h*0.22-overlay_h/2)"
    return "min(main_h*0.78-overlay_h/2,main_h*0.93-overlay_h)"


def _window(start: int, end: int, fps: int) -> str:
    """Frames ``start`` to ``end - 1``, with half-frame margins against float rounding of t."""
    return f"gte(t,{(start - 0.5) / fps:.4f})*lt(t,{(end - 0.5) / fps:.4f})"


def _sec(frames: int, fps: int) -> str:
    return f"{frames / fps:.6f}"
