"""Sample media the demo (and tests) make on the spot: photos and a short tune.

Photos need Pillow (in the ``[local]`` extra); the tune is a WAV written with the standard
library, so no sample file ships with the package.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

PALETTE = (((255, 140, 60), (90, 30, 120)), ((40, 170, 220), (10, 40, 90)),
           ((120, 200, 90), (20, 80, 40)), ((240, 80, 120), (60, 20, 60)))  # fmt: skip
NOTES_HZ = (392.0, 440.0, 523.25, 587.33, 523.25, 440.0, 392.0, 329.63)


def make_photo(path: Path, index: int, size: tuple[int, int] = (1200, 1600)) -> Path:
    """A gradient 'photo' with a sun and a number, so motion and cuts are visible."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    top, bottom = PALETTE[index % len(PALETTE)]
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    r = width // 6
    cx, cy = width // 3 + index * width // 8, height // 3
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 235, 160))
    for x in range(0, width, width // 12):
        draw.polygon([(x, height), (x + width // 24, height * 2 // 3), (x + width // 12, height)],
                     fill=(30, 30, 30))  # fmt: skip
    font = ImageFont.load_default(size=width // 6)
    # Centred, so a portrait crop of this 3:4 photo keeps the number in view.
    draw.text((width // 2, height * 3 // 4), f"#{index + 1}", fill="white", font=font,
              stroke_width=4, stroke_fill="black", anchor="mm")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=88)
    return path


def make_tune(path: Path, seconds: float = 10.0, rate: int = 22050) -> Path:
    """A gentle arpeggio as 16-bit mono WAV."""
    frames = bytearray()
    note_len = 0.5
    for i in range(int(seconds * rate)):
        t = i / rate
        freq = NOTES_HZ[int(t / note_len) % len(NOTES_HZ)]
        local = (t % note_len) / note_len
        envelope = min(1.0, local * 20) * (1 - local) ** 0.5
        sample = 0.35 * envelope * math.sin(2 * math.pi * freq * t)
        frames += struct.pack("<h", round(sample * 32767))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path
