"""A picture of the draft before any export: one frame from the middle of each segment, with the
titles on screen then, in one small JPEG contact sheet (< 100 KB), so the assistant can look at
the draft's current look.

Where the frames come from: the embedded backend's own render plan (``render_plan``), the same
decisions as an export (which piece shows, the photo's motion window at that frame, the title
drawn by ``encode.draw_caption``), each frame made alone at tile size (a photo decoded at the
JPEG scale that covers the tile, a clip's frame by one FFmpeg seek), never a full export. So it
exists only offline: the cloud has no such call, and the client asks for none there (nothing
is invented). Blocking: the route runs it in a worker thread. Cached per draft version (the
draft and its media files) in ``Pictures``.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from nemo_local.encode import draw_caption, find_ffmpeg, probe
from nemo_local.motion import spans, window
from nemo_local.photos import prepare_photo
from nemo_local.render_plan import (
    Caption,
    RenderError,
    RenderPlan,
    Visual,
    needed_media,
    plan_render,
)

TILE = 240
"""Each frame fits a TILE x TILE box (a 9:16 draft: 135x240), as the export's sheet."""
COLUMNS = 5
MAX_FRAMES = 10
GAP = 4
BACKGROUND = (27, 29, 34)
MAX_BYTES = 100_000
QUALITIES = (80, 65, 50, 35)
CACHED = 16


def moments(plan: RenderPlan, most: int = MAX_FRAMES) -> list[int]:
    """The middle frame of each segment shown (black gaps left out), at most ``most`` of them,
    spread evenly. Pure."""
    pieces = [v for v in (*plan.base, *plan.overlays) if v.kind != "black"]
    middles = sorted(v.start + v.frames // 2 for v in pieces)
    if len(middles) > most:
        middles = [middles[i * len(middles) // most] for i in range(most)]
    return middles


def tile_size(width: int, height: int, box: int = TILE) -> tuple[int, int]:
    scale = box / max(width, height)
    return max(2, round(width * scale)), max(2, round(height * scale))


def text_y(role: str, frame_h: int, text_h: int) -> int:
    """Where the encoder puts a title or caption (``filtergraph``'s overlay rule). Pure."""
    if role == "title":
        return round(max(frame_h * 0.06, frame_h * 0.22 - text_h / 2))
    return round(min(frame_h * 0.78 - text_h / 2, frame_h * 0.93 - text_h))


def draft_picture(
    draft: Mapping[str, Any],
    media: Mapping[str, Path],
    *,
    default_canvas: tuple[int, int] = (1080, 1920),
    ffmpeg: str | None = None,
) -> bytes | None:
    """The contact sheet as JPEG bytes, or None when the draft shows nothing yet.
    RenderError (plain words) when a medium is missing or unreadable."""
    exe = find_ffmpeg(ffmpeg)
    infos = {}
    for media_id in needed_media(draft):
        path = media.get(media_id)
        if path is None or not Path(path).is_file():
            raise RenderError(f"media {media_id} is missing")
        infos[media_id] = probe(exe, media_id, Path(path))
    try:
        plan = plan_render(draft, infos, default_canvas=default_canvas)
    except RenderError:
        return None  # nothing to render: nothing to show
    frames = moments(plan)
    if not frames:
        return None
    tile = tile_size(plan.width, plan.height)
    with tempfile.TemporaryDirectory(prefix="nemo-picture-") as tmp:
        maker = _Frames(plan, media, exe, tile, Path(tmp))
        return sheet([maker.frame(n) for n in frames], tile)


def sheet(frames: list[Image.Image], tile: tuple[int, int]) -> bytes:
    """The frames in a grid with thin gaps, as the smallest-enough JPEG."""
    columns = min(len(frames), COLUMNS)
    rows = -(-len(frames) // columns)
    w, h = tile
    canvas = Image.new("RGB", (GAP + columns * (w + GAP), GAP + rows * (h + GAP)), BACKGROUND)
    for i, frame in enumerate(frames):
        canvas.paste(frame, (GAP + (i % columns) * (w + GAP), GAP + (i // columns) * (h + GAP)))
    for quality in QUALITIES:
        out = io.BytesIO()
        canvas.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() < MAX_BYTES or quality == QUALITIES[-1]:
            return out.getvalue()
    raise AssertionError("unreachable")


class _Frames:
    """Single frames of the plan at tile size."""

    def __init__(
        self,
        plan: RenderPlan,
        media: Mapping[str, Path],
        ffmpeg: str,
        tile: tuple[int, int],
        work: Path,
    ) -> None:
        self.plan, self.media, self.ffmpeg, self.tile, self.work = plan, media, ffmpeg, tile, work
        self._spans = spans(plan)
        self._texts: dict[Caption, Image.Image] = {}

    def frame(self, n: int) -> Image.Image:
        span = next(s for s in self._spans if s.start <= n < s.start + s.frames)
        shot = span.shot
        image = self._picture(shot.piece, shot.first + n - span.start)
        for caption in self.plan.captions:
            if caption.start <= n < caption.end:
                text = self._text(caption)
                y = text_y(caption.role, image.height, text.height)
                image.paste(text, ((image.width - text.width) // 2, y), text)
        return image

    def _picture(self, piece: Visual, local: int) -> Image.Image:
        w, h = self.tile
        if piece.kind == "black" or piece.media_id is None:
            return Image.new("RGB", self.tile)
        src = Path(self.media[piece.media_id])
        if piece.kind == "video":
            return self._clip_frame(src, local / self.plan.fps)
        big = (w * 2, h * 2)  # a little detail to resample the motion window from
        photo = prepare_photo(piece.media_id, src, self.plan, big)
        x0, y0, x1, y1 = window(
            piece.motion, local, piece.length, self.plan.width, self.plan.height
        )
        k = big[0] / self.plan.width
        box = (x0 * k, y0 * k, min(x1 * k, big[0]), min(y1 * k, big[1]))
        return photo.resize(self.tile, Image.Resampling.BILINEAR, box=box)

    def _clip_frame(self, src: Path, seconds: float) -> Image.Image:
        w, h = self.tile
        cover = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
        for at in (seconds, 0.0):  # past a short clip's end, the export holds its last frame
            args = [
                *(self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"),
                *("-ss", f"{at:.3f}", "-i", f"file:{src}", "-frames:v", "1", "-vf", cover),
                *("-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"),
            ]
            try:
                done = subprocess.run(args, capture_output=True, check=False, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                break
            if len(done.stdout) == w * h * 3:
                return Image.frombytes("RGB", self.tile, done.stdout)
        return Image.new("RGB", self.tile)

    def _text(self, caption: Caption) -> Image.Image:
        """The title as the export draws it (at the canvas size), scaled to the tile."""
        if caption not in self._texts:
            png = draw_caption(caption, self.plan, self.work / f"text{len(self._texts)}.png")
            with Image.open(png) as drawn:
                k = self.tile[0] / self.plan.width
                size = (max(1, round(drawn.width * k)), max(1, round(drawn.height * k)))
                self._texts[caption] = drawn.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
        return self._texts[caption]


def version(draft: Mapping[str, Any], media: Mapping[str, Path]) -> str:
    """The draft's version for the cache: its JSON and each file it uses (name, size, time)."""
    digest = hashlib.sha256(json.dumps(draft, sort_keys=True, default=str).encode())
    for media_id in needed_media(draft):
        path = media.get(media_id)
        stat = Path(path).stat() if path is not None and Path(path).is_file() else None
        digest.update(
            f"{media_id}:{path}:{stat and stat.st_size}:{stat and stat.st_mtime_ns}".encode()
        )
    return digest.hexdigest()


class Pictures:
    """The last ``CACHED`` sheets, by draft version (one made at a time)."""

    def __init__(self, default_canvas: tuple[int, int]) -> None:
        self.default_canvas = default_canvas
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, draft: Mapping[str, Any], media: Mapping[str, Path]) -> tuple[str, bytes | None]:
        """(version, sheet); blocking."""
        key = version(draft, media)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = draft_picture(draft, media, default_canvas=self.default_canvas)
                while len(self._cache) > CACHED:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return key, self._cache[key]
