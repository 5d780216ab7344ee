"""Make the bundled CJK fallback font: a subset of Droid Sans Fallback (Apache-2.0).

The embedded backend draws titles with the system's CJK font when there is one; this subset is
its fallback, so a Chinese title never comes out as boxes on a machine without one. It keeps what
most titles need at about a megabyte: the 6,763 hanzi of GB 2312 with its kana, Greek and Cyrillic,
ASCII, CJK punctuation and full-width forms. (The font has no Hangul: Korean titles need a system
font, and the render says so when there is none.)

Run it where Debian's ``fonts-droid-fallback`` is unpacked or installed, with fontTools
(``pip install fonttools``; not a dependency of the package)::

    python packaging/fonts/subset_cjk.py /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf

It writes ``src/nemo_local/data/DroidSansFallback-subset.ttf``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parents[2] / "src/nemo_local/data/DroidSansFallback-subset.ttf"


def _double_byte(encoding: str) -> set[int]:
    """Every character a double-byte encoding can write."""
    found: set[int] = set()
    for high in range(0xA1, 0xFF):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes([high, low]).decode(encoding)
            except UnicodeDecodeError:
                continue
            if len(char) == 1:
                found.add(ord(char))
    return found


def wanted() -> set[int]:
    chars = _double_byte("gb2312")
    chars |= set(range(0x20, 0x7F)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    return chars


def main(source: str) -> int:
    font = TTFont(source)
    chars = wanted() & set(font.getBestCmap())
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=chars)
    subsetter.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT}: {len(chars)} characters, {OUT.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
