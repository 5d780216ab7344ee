"""Where each output frame's picture comes from: the plan flattened into spans, and the photo
motion as a source window per frame. Pure: ``picture`` makes the pixels.

- Spans: the output timeline cut wherever what is on screen changes (a piece starts or ends, a
  blend ends). In a span one piece shows, or two blend (the outgoing piece's tail under the
  incoming one's head, at the seam). Upper video tracks are full-frame and opaque, so where one
  is on screen it alone shows (the last one drawn wins) and nothing under it is made.
- Motion (Ken Burns, 1.00 -> 1.12): frame ``k`` of a piece of ``length`` frames shows the window
  ``W/z`` by ``H/z`` of the canvas-sized photo, slid from its left edge (fx 0) to its right
  (fx 1); the move spans the whole piece, tail included. The window is what FFmpeg's
  ``perspective`` sampled when the renderer used it (output pixel ``i`` samples source pixel
  ``x0 + i/z``), as a box in continuous coordinates (pixel ``i`` covers ``[i, i + 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nemo_local.render_plan import RenderPlan, Visual

ZOOM = 0.12
"""How far photos zoom or pan (1.00 -> 1.12)."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Shot:
    """One piece on screen: ``key`` names it for the picture cache (its index in
    ``pieces(plan)``), ``first`` is the piece's own frame number at the span's first frame."""

    key: int
    piece: Visual
    first: int


@dataclass(frozen=True)
class Span:
    start: int
    frames: int
    shot: Shot
    """What shows; in a blend, the incoming piece."""
    outgoing: Shot | None = None
    """In a blend: the piece fading out (its tail)."""
    transition: str | None = None
    seam: tuple[int, int] = (0, 0)
    """In a blend: its first output frame and its length, which set the progress."""

    def progress(self, frame: int) -> float:
        """How much of the outgoing piece shows at output ``frame``: 1.0 at the seam's first
        frame, falling by one step a frame (xfade's own progress)."""
        first, length = self.seam
        return 1.0 - (frame - first) / length if length else 0.0


def pieces(plan: RenderPlan) -> list[Visual]:
    """The base track's pieces, then the upper tracks' (the keys of ``Shot``)."""
    return [*plan.base, *plan.overlays]


def spans(plan: RenderPlan) -> list[Span]:
    """The output timeline ``[0, plan.frames)`` as consecutive spans (rules in the docstring)."""
    base, overlays = plan.base, plan.overlays
    cuts = {0, plan.frames}
    for piece in base:
        cuts |= {piece.start, piece.end, piece.end + piece.tail}
    for piece in overlays:
        cuts |= {piece.start, piece.end}
    edges = sorted(c for c in cuts if 0 <= c <= plan.frames)
    out: list[Span] = []
    for start, end in zip(edges, edges[1:], strict=False):
        top = next(
            (
                k
                for k in range(len(overlays) - 1, -1, -1)
                if overlays[k].start <= start < overlays[k].end
            ),
            None,
        )
        if top is not None:
            piece = overlays[top]
            out.append(Span(start, end - start, Shot(len(base) + top, piece, start - piece.start)))
            continue
        i = next(k for k, piece in enumerate(base) if piece.start <= start < piece.end)
        shot = Shot(i, base[i], start - base[i].start)
        before = base[i - 1] if i else None
        if before is not None and before.tail and start < before.end + before.tail:
            outgoing = Shot(i - 1, before, start - before.start)
            seam = (before.end, before.tail)
            out.append(Span(start, end - start, shot, outgoing, before.transition, seam))
        else:
            out.append(Span(start, end - start, shot))
    return out


def last_use(spans_: list[Span]) -> dict[int, int]:
    """For each piece key, the index of the last span that needs it (to free it after)."""
    last: dict[int, int] = {}
    for index, span in enumerate(spans_):
        for shot in (span.shot, span.outgoing):
            if shot is not None:
                last[shot.key] = index
    return last


def window(motion: str, frame: int, length: int, width: float, height: float) -> Box:
    """The source box of a ``width`` x ``height`` photo shown at ``frame`` of ``length``."""
    p = frame / max(length - 1, 1)
    fx = 0.5
    if motion == "zoom_in":
        z = 1 + ZOOM * p
    elif motion == "zoom_out":
        z = 1 + ZOOM * (1 - p)
    elif motion in ("pan_left", "pan_right"):
        z = 1 + ZOOM
        fx = p if motion == "pan_right" else 1 - p
    else:
        return (0.0, 0.0, float(width), float(height))
    w, h = width / z, height / z
    # perspective sampled x0 + i/z at output pixel i; a box samples at its cell centres, so
    # shift it by half a cell of each side (clamped: the box must stay on the photo)
    shift = 0.5 - 0.5 / z
    x0 = min(fx * (width - w) + shift, width - w)
    y0 = min(0.5 * (height - h) + shift, height - h)
    return (x0, y0, x0 + w, y0 + h)
