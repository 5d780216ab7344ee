"""Render a draft to an H.264 MP4 with the bundled FFmpeg: the I/O half of the renderer.

``render_plan`` decides everything (timing, motion, transitions, mixing: rules in its docstring);
this module finds FFmpeg, probes the media, draws text with Pillow, runs the encoder with
progress and cancel, feeds it the frames ``picture`` makes, and moves the file into place only
when it is complete.

- The picture is made a piece at a time (``picture``: one or two photos held at once) and piped
  raw into one encoder that draws the titles and mixes the sound: memory stays flat however
  long the draft. docs/PERFORMANCE.md has the figures.
- Photos go through Pillow first: EXIF rotation applied, transparency flattened onto black,
  cropped to cover the canvas. JPEGs decode at a reduced scale, so a 48 MP photo costs little.
  Every photo is opened before the encoder starts, so an unreadable one fails at once.
- Text is drawn by Pillow (white with a dark outline and shadow) into transparent PNGs that
  FFmpeg overlays, in a font that has its glyphs (``fonts``: Pillow's built-in one for Latin,
  else a system font, else the bundled CJK subset), so a Chinese title never comes out as boxes.
- Pillow and FFmpeg are required: when either is missing the render fails with the install
  command.
- FFmpeg: ``-preset ultrafast -crf 23 -threads 2``, ``+faststart``, no metadata copied from the
  inputs (phone videos carry GPS positions). 30 fps by default: what phones record, and smooth
  enough for the photo motion. The issue's job (10 photos, 30 s, 1080x1920, music, a title) is
  measured against a plain FFmpeg scale+concat by ``bench/run.py`` (docs/PERFORMANCE.md).
- The output is written to a hidden ``.<name>.*.part`` file next to ``out_path`` and renamed into
  place only after FFmpeg succeeded; on failure or cancel it is deleted.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from nemo_local.filetypes import ACCEPTED, extension_of
from nemo_local.filtergraph import build_command
from nemo_local.fonts import typeface_for
from nemo_local.render_plan import (
    Caption,
    MediaInfo,
    RenderError,
    RenderPlan,
    needed_media,
    plan_render,
)
from nemo_media.ffmpeg import INSTALL_ADVICE, FFmpegMissing, stream_info
from nemo_media.ffmpeg import find_ffmpeg as shared_find_ffmpeg

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

__all__ = ["DEFAULT_FPS", "RenderError", "RenderResult", "render_draft"]

DEFAULT_FPS = 30
THREADS = 2
_CANCEL_POLL_S = 0.05
_PILLOW_ADVICE = f"Pillow is needed to draw photos and text; install it with {INSTALL_ADVICE}"
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (.*)")
_IMAGE_INPUT = re.compile(r"Input #0, (image2|\w+_pipe),")
_MONO = re.compile(r", (mono|1 channels)\b")


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration_ms: int
    width: int
    height: int
    has_audio: bool
    bytes: int


def render_draft(
    draft: Mapping[str, Any],
    media: Mapping[str, Path],
    out_path: Path,
    *,
    default_canvas: tuple[int, int] = (1080, 1920),
    fps: int = DEFAULT_FPS,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    ffmpeg: str | None = None,
) -> RenderResult:
    """Render ``draft`` to ``out_path`` (blocking; run it in a worker thread).

    ``media`` maps media ids to files. ``progress`` gets increasing values from 0.0, ending at
    1.0 once the file is in place. Setting ``cancel`` stops FFmpeg and raises
    ``RenderError("cancelled")``. On any failure no file (partial or temporary) is left behind.
    """
    exe = find_ffmpeg(ffmpeg)
    _check(cancel)
    infos: dict[str, MediaInfo] = {}
    for media_id in needed_media(draft):
        path = media.get(media_id)
        if path is None or not Path(path).is_file():
            raise RenderError(f"media {media_id} is missing")
        infos[media_id] = probe(exe, media_id, Path(path))
    plan = plan_render(draft, infos, default_canvas=default_canvas, fps=fps)
    try:
        import PIL  # noqa: F401  (asked at each render: the modules below may be loaded already)

        from nemo_local.photos import check_photo, prepare_photo
        from nemo_local.picture import Pictures
    except ImportError:
        raise RenderError(_PILLOW_ADVICE) from None
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sources = {m: Path(media[m]).resolve() for m in infos}
    for media_id in sorted(
        {v.media_id or "" for v in plan.base + plan.overlays if v.kind == "image"}
    ):
        check_photo(media_id, sources[media_id])
    with tempfile.TemporaryDirectory(prefix="nemo-render-") as tmp:
        work = Path(tmp)
        texts = [draw_caption(c, plan, work / f"text{i}.png") for i, c in enumerate(plan.captions)]
        _check(cancel)
        pictures = Pictures(
            plan,
            ffmpeg=exe,
            sources=sources,
            prepare=lambda m: prepare_photo(m, sources[m], plan),
            work=work,
        )
        fd, partial = tempfile.mkstemp(
            dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".part"
        )
        os.close(fd)
        try:
            args = build_command(
                plan,
                ffmpeg=exe,
                sources=sources,
                captions=texts,
                output=Path(partial),
                threads=THREADS,
            )
            run_ffmpeg(
                args, plan.duration_ms, work / "ffmpeg.log", progress, cancel, pictures.frames()
            )
            os.replace(partial, out_path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    if progress is not None:
        progress(1.0)
    return RenderResult(
        path=out_path,
        duration_ms=plan.duration_ms,
        width=plan.width,
        height=plan.height,
        has_audio=plan.has_audio,
        bytes=out_path.stat().st_size,
    )


def find_ffmpeg(ffmpeg: str | None = None) -> str:
    """The given executable, else the package's one lookup (the bundled binary, then PATH)."""
    if ffmpeg:
        return ffmpeg
    try:
        return shared_find_ffmpeg()
    except FFmpegMissing as exc:
        raise RenderError(str(exc)) from None


def probe(ffmpeg: str, media_id: str, path: Path) -> MediaInfo:
    """What a file holds: photos by extension (Pillow reads them), the rest by asking FFmpeg."""
    known = ACCEPTED.get(extension_of(path.name))
    if known is not None and known.kind == "image":
        return MediaInfo("image")
    try:
        text = stream_info(path, ffmpeg)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"FFmpeg could not run ({exc})") from None
    info = parse_probe(text)
    if info is None:
        raise RenderError(f"media {media_id} could not be read (not a video, sound or photo file)")
    return info


def parse_probe(text: str) -> MediaInfo | None:
    """Read ``ffmpeg -i``'s stream list; None when it found no picture or sound."""
    streams = [(kind, rest) for kind, rest in _STREAM.findall(text) if "attached pic" not in rest]
    sound = next((rest for kind, rest in streams if kind == "Audio"), None)
    has_audio, mono = sound is not None, bool(sound and _MONO.search(sound))
    if any(kind == "Video" for kind, _ in streams):
        return MediaInfo("image" if _IMAGE_INPUT.search(text) else "video", has_audio, mono)
    return MediaInfo("audio", True, mono) if has_audio else None


def progress_fraction(line: str, total_ms: int) -> float | None:
    """The share done from one ``-progress`` line (``out_time_us=``), capped below 1.0:
    1.0 is reported only once the file is in place."""
    key, _, value = line.strip().partition("=")
    if key not in ("out_time_us", "out_time_ms") or total_ms <= 0:
        return None  # out_time_ms is microseconds too (an old FFmpeg misnomer)
    try:
        micros = int(value)
    except ValueError:
        return None  # "N/A" before the first frame
    return min(max(micros / (total_ms * 1000), 0.0), 0.99)


def run_ffmpeg(
    args: list[str],
    total_ms: int,
    log_path: Path,
    progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
    frames: Iterator[Sequence[bytes]] | None = None,
) -> None:
    """Run FFmpeg to the end, feeding it ``frames`` on stdin and reporting its progress; kill
    it on cancel or on any exception."""
    try:
        with log_path.open("wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL if frames is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                encoding="utf-8",
                errors="replace",
            )
    except OSError as exc:
        raise RenderError(f"FFmpeg could not run ({exc})") from None
    finished = threading.Event()
    watchers = [threading.Thread(target=_follow, args=(proc.stdout, total_ms, progress))]
    if cancel is not None:
        watchers.append(threading.Thread(target=_kill_on_cancel, args=(proc, cancel, finished)))
    with proc:
        try:
            if progress is not None:
                progress(0.0)
            for watcher in watchers:
                watcher.start()
            if frames is not None:
                _feed(proc, frames, cancel)
            code = proc.wait()
        finally:
            finished.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for watcher in watchers:
                if watcher.ident is not None:
                    watcher.join()
    _check(cancel)
    if code != 0:
        raise RenderError(f"FFmpeg failed: {_last_line(log_path) or f'exit code {code}'}")


def _feed(
    proc: subprocess.Popen[str], frames: Iterator[Sequence[bytes]], cancel: threading.Event | None
) -> None:
    """Write every frame to the encoder; stop early when it has gone (its exit code tells)."""
    stdin = proc.stdin
    assert isinstance(stdin, io.TextIOWrapper)
    pipe = stdin.buffer  # the frames are bytes; the progress lines on stdout are text
    with contextlib.suppress(BrokenPipeError):
        try:
            for frame in frames:
                _check(cancel)
                for plane in frame:
                    pipe.write(plane)
        finally:
            getattr(frames, "close", lambda: None)()  # frees the pieces it holds
            stdin.close()


def _follow(
    stdout: IO[str] | None, total_ms: int, progress: Callable[[float], None] | None
) -> None:
    last = 0.0
    for line in stdout or ():
        fraction = progress_fraction(line, total_ms)
        if progress is not None and fraction is not None and fraction > last:
            last = fraction
            progress(fraction)


def _kill_on_cancel(
    proc: subprocess.Popen[str], cancel: threading.Event, finished: threading.Event
) -> None:
    while not finished.is_set():
        if cancel.wait(_CANCEL_POLL_S):
            proc.kill()
            return


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise RenderError("cancelled")


def _last_line(path: Path) -> str:
    lines = path.read_text("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


# Pillow: text


def draw_caption(caption: Caption, plan: RenderPlan, dst: Path) -> Path:
    """The text as a transparent PNG: white, dark outline and shadow, wrapped to 88% of the
    width, shrunk until it fits its band (title: big, caption: smaller)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise RenderError(_PILLOW_ADVICE) from None

    title = caption.role == "title"
    size = max(12, round(plan.width * (0.085 if title else 0.058)))
    max_width, max_height = plan.width * 0.88, plan.height * (0.3 if title else 0.22)
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    typeface = typeface_for(caption.text)
    while True:
        font = typeface.load(size)
        stroke = max(1, round(size * 0.08))
        text = "\n".join(wrap_text(caption.text, _fits(measure, font, 2 * stroke, max_width)))
        spacing = round(size * 0.2)
        left, top, right, bottom = measure.multiline_textbbox(
            (0, 0), text, font=font, spacing=spacing, align="center", stroke_width=stroke
        )
        if bottom - top <= max_height or size <= 12:
            break
        size = max(12, int(size * 0.85))
    shadow = max(1, round(size * 0.05))
    box = (math.ceil(right - left) + shadow + 2, math.ceil(bottom - top) + shadow + 2)
    image = Image.new("RGBA", box, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    origin = (1 - left, 1 - top)
    style: dict[str, Any] = {"font": font, "spacing": spacing, "align": "center"}
    draw.multiline_text(
        (origin[0] + shadow, origin[1] + shadow), text, fill=(0, 0, 0, 140), **style
    )
    draw.multiline_text(
        origin,
        text,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, 230),
        **style,
    )
    image.save(dst, "PNG")
    return dst


def _fits(
    measure: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    extra: int,
    limit: float,
) -> Callable[[str], bool]:
    return lambda line: measure.textlength(line, font=font) + extra <= limit


def wrap_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy wrap by words; a word too long for a line (or text without spaces, as in
    Chinese) breaks between characters. Explicit line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
                line = ""
            for char in word:
                if line and not fits(line + char):
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
    return [line for line in lines if line] or [text.strip()]
