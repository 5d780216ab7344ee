"""Which font draws a title: one that has a glyph for every character, never boxes.

Pillow's built-in font (``ImageFont.load_default``) draws Latin text only; a Chinese title drawn
with it is a row of empty boxes. So the text is checked glyph by glyph, in this order:

1. Pillow's built-in font, when it covers the text (most titles: no file is read);
2. the system's fonts for other scripts (CJK first: Noto Sans CJK, WenQuanYi, Droid Sans
   Fallback, PingFang, Hiragino, Microsoft YaHei, Malgun Gothic, ...; DejaVu and Arial for
   Cyrillic, Greek and more), then whatever fontconfig (``fc-list``) says covers the characters;
3. the bundled ``data/DroidSansFallback-subset.ttf``: Droid Sans Fallback (Apache-2.0, Google)
   cut to GB 2312 (6,763 hanzi, kana, Greek, Cyrillic) and ASCII, about 1 MB
   (``packaging/fonts/subset_cjk.py`` makes it from Debian's ``fonts-droid-fallback``).

A font "has" a character when its drawing differs from the font's .notdef (the box it draws for
characters it lacks). When no font covers the text, the one missing the fewest characters is
used and ``Typeface.missing`` names the rest, so the agent can say so plainly.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).with_name("data") / "DroidSansFallback-subset.ttf"
PROBE_SIZE = 32
NO_GLYPH = "\U0010fffd"
"""A private-use character no font draws: what its drawing looks like is the font's .notdef."""
FC_LIST_TIMEOUT_S = 5.0
_SYSTEM_FONTS: dict[str, tuple[str, ...]] = {
    "linux": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ),
    "darwin": (
        "/System/Library/Fonts/PingFang.ttc",
        "/System/Library/Fonts/Hiragino Sans GB.ttc",
        "/System/Library/Fonts/STHeiti Medium.ttc",
        "/System/Library/Fonts/AppleSDGothicNeo.ttc",
        "/Library/Fonts/Arial Unicode.ttf",
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    ),
    "win32": (
        "C:/Windows/Fonts/msyh.ttc",
        "C:/Windows/Fonts/simhei.ttf",
        "C:/Windows/Fonts/YuGothM.ttc",
        "C:/Windows/Fonts/malgun.ttf",
        "C:/Windows/Fonts/Nirmala.ttf",
        "C:/Windows/Fonts/arial.ttf",
    ),
}
_INVISIBLE = ("Cc", "Cf", "Zs", "Zl", "Zp")


@dataclass(frozen=True)
class Typeface:
    """The font chosen for a text: ``path`` None is Pillow's built-in font."""

    path: str | None
    missing: str = ""
    """Characters this font cannot draw either (empty: it draws them all)."""

    def load(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        from PIL import ImageFont

        if self.path is None:
            return ImageFont.load_default(size=size)
        return ImageFont.truetype(self.path, size=size)


def typeface_for(text: str) -> Typeface:
    """The first font of the module docstring's order that draws every character of ``text``."""
    visible = "".join(sorted({c for c in text if unicodedata.category(c) not in _INVISIBLE}))
    return _choose(visible)


@functools.lru_cache(maxsize=64)
def _choose(chars: str) -> Typeface:
    best = Typeface(None, _missing(None, chars))
    if not best.missing:
        return best
    for path in _candidates(best.missing):
        missing = _missing(path, chars)
        if len(missing) < len(best.missing):
            best = Typeface(path, missing)
            if not missing:
                return best
    log.warning("no font draws %r; it is drawn with %s", best.missing, best.path or "the default")
    return best


def _candidates(missing: str) -> list[str]:
    listed = _SYSTEM_FONTS.get(sys.platform, _SYSTEM_FONTS["linux"])
    found = [p for p in listed if Path(p).is_file()]
    found += [p for p in _fontconfig(missing) if p not in found]
    return [*found, str(BUNDLED)]


def _fontconfig(chars: str) -> list[str]:
    """The fonts fontconfig knows to cover ``chars`` (none where it is not installed)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    charset = " ".join(f"{ord(c):x}" for c in chars[:16])
    try:
        done = subprocess.run(
            [fc_list, f":charset={charset}", "file"],
            capture_output=True, text=True, timeout=FC_LIST_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    files = (line.strip().rstrip(":") for line in done.stdout.splitlines())
    return sorted(f for f in files if f.lower().endswith((".ttf", ".otf", ".ttc")))


def _missing(path: str | None, chars: str) -> str:
    """The characters of ``chars`` that ``path``'s font draws as its .notdef."""
    try:
        font = Typeface(path).load(PROBE_SIZE)
    except OSError:
        return chars
    notdef = _drawing(font, NO_GLYPH)
    return "".join(c for c in chars if _drawing(font, c) == notdef)


def _drawing(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> tuple[object, ...]:
    mask = font.getmask(char)
    return (mask.size, bytes(mask))
