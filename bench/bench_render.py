"""Time the local renderer on the reference job: three photos, 9 s at 1080x1920, transitions,
music and a title. Prints the wall time per stage and FFmpeg's peak memory.

Run: ``.venv/bin/python bench/bench_render.py [--runs N]`` (not part of pytest).
The target is well under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw

from nemo_local.encode import render_draft

PHOTOS = {"med_beach": (4000, 3000), "med_tower": (3024, 4032), "med_square": (2000, 2000)}


def make_photo(path: Path, size: tuple[int, int], seed: int) -> None:
    """A busy camera-sized photo, so encoding costs what real photos cost."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), 90, 120))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(40, 700), rng.randrange(40, 700)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + w, y + h), fill=color)
    image.save(path, quality=90)


def make_music(path: Path, seconds: int) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
        + ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", "-b:a", "128k"]
        + [str(path)],
        check=True,
    )


def draft() -> dict[str, object]:
    looks = [("zoom_in", "fade"), ("pan_left", "slide"), ("zoom_out", "none")]
    photos = [
        {
            "st": i * 3000,
            "d": 3000,
            "m": {
                "media_id": media_id,
                "kind": "image",
                "motion": motion,
                "transition": transition,
                "transition_ms": 500,
            },
        }
        for i, (media_id, (motion, transition)) in enumerate(zip(PHOTOS, looks, strict=True))
    ]
    return {
        "canvas": {"width": 1080, "height": 1920},
        "t": [
            {"tt": 0, "sg": photos},
            {"tt": 1, "sg": [{"st": 0, "d": 9000, "m": {"media_id": "med_music", "volume": 0.3}}]},
            {"tt": 7, "sg": [{"st": 0, "d": 3000, "m": {"text": "Summer 2026", "role": "title"}}]},
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(tmp)
        media: dict[str, Path] = {}
        for seed, (media_id, size) in enumerate(PHOTOS.items()):
            media[media_id] = work / f"{media_id}.jpg"
            make_photo(media[media_id], size, seed)
        media["med_music"] = work / "music.mp3"
        make_music(media["med_music"], 10)
        marks: list[tuple[float, float]] = []
        for run in range(1, runs + 1):
            marks.clear()
            start = time.perf_counter()
            result = render_draft(
                draft(),
                media,
                work / "out.mp4",
                progress=lambda p: marks.append((time.perf_counter(), p)),
            )
            total = time.perf_counter() - start
            prep = marks[0][0] - start if marks else 0.0
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"run {run}: {total:.2f} s total ({prep:.2f} s probing and Pillow, "
                f"{total - prep:.2f} s FFmpeg), {result.width}x{result.height}, "
                f"{result.duration_ms} ms, audio={result.has_audio}, "
                f"{result.bytes / 1e6:.2f} MB, FFmpeg peak RSS {peak_mb:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
