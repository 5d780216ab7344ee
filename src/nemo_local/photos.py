"""Photos as the renderer takes them: upright (EXIF), opaque (transparency flattened onto
black), RGB, cropped to cover the canvas. Imported only when a render runs (Pillow is needed).
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageOps

from nemo_local.render_plan import RenderError, RenderPlan


def check_photo(media_id: str, src: Path) -> None:
    """Open the photo's header (cheap): an unreadable file fails before the encoder starts."""
    try:
        with Image.open(src):
            pass
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise RenderError(f"media {media_id} is not a readable image") from None


def prepare_photo(
    media_id: str, src: Path, plan: RenderPlan, size: tuple[int, int] | None = None
) -> Image.Image:
    """Upright, opaque, RGB, and cropped to cover the canvas (or ``size``)."""
    size = size or (plan.width, plan.height)
    try:
        with Image.open(src) as upright:
            # JPEG: decode at 1/2, 1/4... when that still covers the canvas (a photo stored
            # sideways, as phones do, is measured turned)
            turned = upright.getexif().get(0x0112) in (5, 6, 7, 8)
            w, h = (upright.height, upright.width) if turned else upright.size
            scale = max(size[0] / w, size[1] / h)
            need = (math.ceil(w * scale), math.ceil(h * scale))
            upright.draft("RGB", need[::-1] if turned else need)
            ImageOps.exif_transpose(upright, in_place=True)  # no copy of a 48 MP photo
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size)
                flat.paste(rgba, mask=rgba.getchannel("A"))
            else:
                flat = upright if upright.mode == "RGB" else upright.convert("RGB")
            return ImageOps.fit(flat, size, Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise RenderError(f"media {media_id} is not a readable image") from None
