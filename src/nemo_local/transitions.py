"""The blends at the seams, on yuv420p planes (Pillow ``L`` images: Y, U, V), as FFmpeg's
``xfade`` draws them: ``progress`` is the share of the outgoing picture ``a``, 1.0 at the seam's
first frame. Each plane is blended at its own size (chroma planes are half the canvas).

- fade / dissolve / fadeblack mix the pictures (dissolve picks each pixel from one or the other
  by a fixed random pattern; fadeblack goes through black);
- slides push the incoming picture in whole pixels, wipeleft uncovers it column by column.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image

Planes = Sequence[Image.Image]
BLACK = (16, 128, 128)
"""Black in limited-range yuv420p, as FFmpeg's ``color=black`` makes it."""
_PHASE = 0.2


def blend(name: str | None, a: Planes, b: Planes, progress: float) -> list[Image.Image]:
    """The frame between ``a`` (outgoing) and ``b`` (incoming); unknown names fade."""
    p = min(max(progress, 0.0), 1.0)
    return [
        _plane(name or "fade", pa, pb, p, BLACK[i])
        for i, (pa, pb) in enumerate(zip(a, b, strict=True))
    ]


def _plane(name: str, a: Image.Image, b: Image.Image, p: float, black: int) -> Image.Image:
    w, h = a.size
    if name.startswith("slide"):
        return _slide(name, a, b, p)
    if name == "wipeleft":
        out = b.copy()
        z = min(int(w * p) + 1, w)
        out.paste(a.crop((0, 0, z, h)), (0, 0))
        return out
    if name == "dissolve":
        threshold = (1.0 - p) * 256
        mask = _noise(w, h).point([255 if v >= threshold else 0 for v in range(256)])
        return Image.composite(a, b, mask)
    if name == "fadeblack":
        dark = Image.new("L", a.size, black)
        fading = Image.blend(dark, a, _smoothstep(1.0 - _PHASE, 1.0, p))
        coming = Image.blend(b, dark, _smoothstep(_PHASE, 1.0, p))
        return Image.blend(coming, fading, p)
    return Image.blend(b, a, p)


def _slide(name: str, a: Image.Image, b: Image.Image, p: float) -> Image.Image:
    """``a`` leaves and ``b`` follows it in, both moving ``int(p * side)`` pixels a step."""
    w, h = a.size
    out = Image.new("L", a.size)
    if name in ("slideleft", "slideright"):
        s = int(p * w)
        if name == "slideleft":  # a's right part on the left, b's left part after it
            out.paste(a.crop((w - s, 0, w, h)), (0, 0))
            out.paste(b.crop((0, 0, w - s, h)), (s, 0))
        else:
            out.paste(b.crop((s, 0, w, h)), (0, 0))
            out.paste(a.crop((0, 0, s, h)), (w - s, 0))
        return out
    s = int(p * h)
    if name == "slideup":
        out.paste(a.crop((0, h - s, w, h)), (0, 0))
        out.paste(b.crop((0, 0, w, h - s)), (0, s))
    else:
        out.paste(b.crop((0, s, w, h)), (0, 0))
        out.paste(a.crop((0, 0, w, s)), (0, h - s))
    return out


def _smoothstep(edge0: float, edge1: float, x: float) -> float:
    t = min(max((x - edge0) / (edge1 - edge0), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


@lru_cache(maxsize=4)
def _noise(width: int, height: int) -> Image.Image:
    """A fixed random pattern per plane size (a dissolve looks the same in every render)."""
    return Image.frombytes(
        "L", (width, height), random.Random(width * 65536 + height).randbytes(width * height)
    )
