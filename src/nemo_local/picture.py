"""The picture of a render, frame by frame, as raw yuv420p bytes for the encoder.

Each piece is made on its own, when its first span comes, and freed after its last, so at most
the pieces of one seam are held (two photos, or a photo and a clip decoder), plus the next
photo's canvas-sized planes, decoded in a helper thread meanwhile so the encoder never waits:

- a photo is prepared by Pillow (``encode.prepare_photo``), turned into yuv420p planes by FFmpeg
  (the conversion the one-graph renderer made, so a still photo's frames are the same bytes);
  a moving one is also oversampled 4x once (bilinear), and each frame is its motion window
  (``motion.window``) picked from that with nearest-neighbour at the output size: positions on a
  quarter-pixel grid (within 1/8 pixel of exact), so the move is smooth, at a fifth of the cost
  of a per-frame bilinear resample and a sixth of FFmpeg's ``perspective`` over the canvas;
- a clip is decoded by its own FFmpeg (``filtergraph.decode_command``) and read in order;
- black is constant bytes; blends are ``transitions.blend`` on the planes of both pieces.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from PIL import Image

from nemo_local.filtergraph import decode_command, still_command
from nemo_local.motion import Shot, Span, last_use, spans, window
from nemo_local.render_plan import RenderError, RenderPlan, Visual
from nemo_local.transitions import BLACK, blend

OVERSAMPLE = 4
_RESAMPLE = Image.Resampling


class Piece(Protocol):
    def planes(self, frame: int) -> list[Image.Image]: ...

    def data(self, frame: int) -> Frame: ...

    def close(self) -> None: ...


def plane_sizes(width: int, height: int) -> list[tuple[int, int]]:
    return [(width, height), (width // 2, height // 2), (width // 2, height // 2)]


def split_planes(data: bytes, width: int, height: int) -> list[Image.Image]:
    out, at = [], 0
    for size in plane_sizes(width, height):
        n = size[0] * size[1]
        out.append(Image.frombytes("L", size, data[at : at + n]))
        at += n
    return out


Frame = tuple[bytes, ...]
"""One frame's planes (Y, U, V), written one after the other: raw yuv420p."""


def joined(planes: list[Image.Image]) -> Frame:
    return tuple(p.tobytes() for p in planes)


class Still:
    """A photo's planes; the frames of its motion over ``length`` frames."""

    def __init__(self, planes: list[Image.Image], motion: str, length: int) -> None:
        self.base = planes
        self.motion = motion
        self.length = length
        self._big: list[Image.Image] | None = None
        self._still = joined(planes) if motion == "none" else ()

    def planes(self, frame: int) -> list[Image.Image]:
        if self.motion == "none":
            return self.base
        if self._big is None:
            self._big = [
                p.resize((p.width * OVERSAMPLE, p.height * OVERSAMPLE), _RESAMPLE.BILINEAR)
                for p in self.base
            ]
        width, height = self.base[0].size
        x0, y0, x1, y1 = window(self.motion, frame, self.length, width, height)
        out = []
        for plane, big in zip(self.base, self._big, strict=True):
            k = OVERSAMPLE * plane.width / width  # 4 for Y, 2 for the half-size chroma
            box = (x0 * k, y0 * k, x1 * k, y1 * k)
            out.append(big.resize(plane.size, _RESAMPLE.NEAREST, box=box))
        return out

    def data(self, frame: int) -> Frame:
        return self._still or joined(self.planes(frame))

    def close(self) -> None:
        self._big = None


class Black:
    def __init__(self, width: int, height: int) -> None:
        self.base = [
            Image.new("L", s, v) for s, v in zip(plane_sizes(width, height), BLACK, strict=True)
        ]
        self._data = joined(self.base)

    def planes(self, frame: int) -> list[Image.Image]:
        return self.base

    def data(self, frame: int) -> Frame:
        return self._data

    def close(self) -> None:
        pass


class Clip:
    """A clip's frames from its own FFmpeg, read in order (frames before ``first`` skipped)."""

    def __init__(self, args: list[str], width: int, height: int, log: Path) -> None:
        self.size = (width, height)
        self.frame_bytes = width * height * 3 // 2
        self.next = 0
        self._log = log.open("ab")
        self._proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log
        )

    def data(self, frame: int) -> Frame:
        return (self._read(frame),)

    def _read(self, frame: int) -> bytes:
        assert self._proc.stdout is not None
        while True:
            chunk = self._proc.stdout.read(self.frame_bytes)
            if len(chunk) < self.frame_bytes:
                self.close()
                raise RenderError("FFmpeg failed: a clip ended before its frames were read")
            self.next += 1
            if self.next > frame:
                return chunk

    def planes(self, frame: int) -> list[Image.Image]:
        return split_planes(self._read(frame), *self.size)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._log.close()


class Pictures:
    """Opens each piece when first shown and closes it after its last span."""

    def __init__(
        self,
        plan: RenderPlan,
        *,
        ffmpeg: str,
        sources: dict[str, Path],
        prepare: Callable[[str], Image.Image],
        work: Path,
    ) -> None:
        self.plan = plan
        self.ffmpeg = ffmpeg
        self.sources = sources
        self.prepare = prepare
        self.work = work
        self._open: dict[int, Piece] = {}
        self._ahead: dict[int, Future[list[Image.Image]]] = {}
        self._next: dict[int, Shot] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="nemo-photo")
        self._files = itertools.count()

    def frames(self) -> Iterator[Frame]:
        """Every output frame in order; frees each piece after its last span."""
        todo = spans(self.plan)
        last = last_use(todo)
        photos = {s.key: s for span in todo for s in (span.outgoing, span.shot) if s is not None}
        order = [s for s in photos.values() if s.piece.kind == "image"]
        self._next = {a.key: b for a, b in zip(order, order[1:], strict=False)}
        try:
            for index, span in enumerate(todo):
                yield from self._span(span)
                for key in [k for k in self._open if last.get(k, -1) <= index]:
                    self._open.pop(key).close()
        finally:
            self.close()

    def close(self) -> None:
        for future in self._ahead.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        self._ahead.clear()
        while self._open:
            self._open.popitem()[1].close()

    def _span(self, span: Span) -> Iterator[Frame]:
        shot = self._piece(span.shot)
        if span.outgoing is None:
            for n in range(span.frames):
                yield shot.data(span.shot.first + n)
            return
        out = self._piece(span.outgoing)
        for n in range(span.frames):
            a = out.planes(span.outgoing.first + n)
            b = shot.planes(span.shot.first + n)
            yield joined(blend(span.transition, a, b, span.progress(span.start + n)))

    def _piece(self, shot: Shot) -> Piece:
        piece = self._open.get(shot.key)
        if piece is None:
            piece = self._open[shot.key] = self._make(shot.key, shot.piece)
            # the next photo is decoded meanwhile (Pillow and FFmpeg leave the GIL), so the
            # encoder does not wait for it; only its canvas-sized planes are held early
            upcoming = self._next.get(shot.key)
            if upcoming is not None and upcoming.key not in self._open | self._ahead:
                media_id = upcoming.piece.media_id or ""
                self._ahead[upcoming.key] = self._pool.submit(self.still_planes, media_id)
        return piece

    def _make(self, key: int, visual: Visual) -> Piece:
        w, h, fps = self.plan.width, self.plan.height, self.plan.fps
        if visual.kind == "black" or visual.media_id is None:
            return Black(w, h)
        src = self.sources[visual.media_id]
        if visual.kind == "video":
            args = decode_command(self.ffmpeg, src, visual.length, w, h, fps)
            return Clip(args, w, h, self.work / "decode.log")
        early = self._ahead.pop(key, None)
        planes = early.result() if early else self.still_planes(visual.media_id)
        return Still(planes, visual.motion, visual.length)

    def still_planes(self, media_id: str) -> list[Image.Image]:
        """The prepared photo as yuv420p planes, converted by FFmpeg."""
        rgb = self.prepare(media_id).tobytes()
        out = self.work / f"still{next(self._files)}.yuv"
        args = still_command(self.ffmpeg, self.plan.width, self.plan.height, out)
        try:
            done = subprocess.run(args, input=rgb, capture_output=True, check=False, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderError(f"FFmpeg could not run ({exc})") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RenderError(f"FFmpeg failed: {lines[-1].strip() if lines else done.returncode}")
        data = out.read_bytes()
        out.unlink()
        return split_planes(data, self.plan.width, self.plan.height)
