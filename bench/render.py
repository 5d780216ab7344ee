"""Render measures: the local backend's renderer on the issue's job (10 photos, 30 s,
1080x1920, music, a title) against one plain FFmpeg scale+concat of the same stills.
A smoke run (``make_job(small=True)``) renders small photos on a 180x320 canvas instead.

Each sample runs in a fresh process (``python bench/render.py ours|plain DIR``) whose FFmpeg
runs go through ``ffmpeg_peak.py``: each one's own peak memory and CPU seconds. The sample also
has the rendering process's own CPU seconds and memory growth (ours makes the frames there).
``make_job`` writes the inputs.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1080, 1920
SMALL_CANVAS = (180, 320)
"""The smoke run's canvas: the pipeline is the same, FFmpeg's work 36 times smaller."""
LOOKS = [
    ("zoom_in", "fade"), ("pan_left", "slide"), ("zoom_out", "none"), ("pan_right", "fade"),
    ("zoom_in", "none"),
]  # fmt: skip
SIZES = [(4000, 3000), (3024, 4032), (2000, 2000)]


def _ffmpeg() -> str:
    from nemo_media.ffmpeg import find_ffmpeg

    return find_ffmpeg()


def make_photo(path: Path, size: tuple[int, int], seed: int) -> None:
    """A busy camera-sized photo, so encoding costs what real photos cost."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), 90, 120))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(40, 700), rng.randrange(40, 700)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + w, y + h), fill=color)
    image.save(path, quality=90)


def make_job(work: Path, photos: int = 10, seconds: int = 30, *, small: bool = False) -> None:
    """The photos, the music and ``draft.json`` in ``work``; ``small`` photos and canvas for a
    smoke run."""
    work.mkdir(parents=True, exist_ok=True)
    for i in range(photos):
        size = SIZES[i % len(SIZES)]
        make_photo(work / f"p{i}.jpg", (size[0] // 8, size[1] // 8) if small else size, i)
    subprocess.run(
        [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", f"sine=frequency=330:duration={seconds + 1}", "-b:a", "128k"]
        + [str(work / "music.mp3")],
        check=True,
    )
    canvas = SMALL_CANVAS if small else (WIDTH, HEIGHT)
    (work / "draft.json").write_text(json.dumps(draft(photos, seconds, canvas)))


def draft(photos: int, seconds: int, canvas: tuple[int, int] = (WIDTH, HEIGHT)) -> dict[str, Any]:
    each = seconds * 1000 // photos
    segments = [
        {
            "st": i * each,
            "d": each,
            "m": {
                "media_id": f"p{i}",
                "kind": "image",
                "motion": LOOKS[i % len(LOOKS)][0],
                "transition": LOOKS[i % len(LOOKS)][1],
                "transition_ms": 500,
            },
        }
        for i in range(photos)
    ]
    music = {"st": 0, "d": seconds * 1000, "m": {"media_id": "music", "volume": 0.3}}
    title = {"st": 0, "d": 3000, "m": {"text": "Summer 2026", "role": "title"}}
    return {
        "canvas": {"width": canvas[0], "height": canvas[1]},
        "t": [{"tt": 0, "sg": segments}, {"tt": 1, "sg": [music]}, {"tt": 7, "sg": [title]}],
    }


def canvas_of(work: Path) -> tuple[int, int]:
    """The job's canvas, as ``make_job`` wrote it in ``draft.json``."""
    canvas = json.loads((work / "draft.json").read_text())["canvas"]
    return canvas["width"], canvas["height"]


def media_of(work: Path) -> dict[str, Path]:
    media = {p.stem: p for p in sorted(work.glob("p*.jpg"))}
    media["music"] = work / "music.mp3"
    return media


def render_ours(work: Path, out: Path) -> None:
    from nemo_local.encode import render_draft

    draft_ = json.loads((work / "draft.json").read_text())
    render_draft(draft_, media_of(work), out, ffmpeg=os.environ.get("NEMO_BENCH_WRAPPER"))


def render_plain(work: Path, out: Path) -> None:
    """The floor: each still scaled to cover the canvas once, concatenated, with the music."""
    photos = sorted(work.glob("p*.jpg"))
    width, height = canvas_of(work)
    seconds = json.loads((work / "draft.json").read_text())["t"][1]["sg"][0]["d"] / 1000
    each = seconds / len(photos)
    frames = round(each * 30)
    args = [os.environ.get("NEMO_BENCH_WRAPPER") or _ffmpeg(), "-hide_banner", "-loglevel"]
    args += ["error", "-y"]
    for photo in photos:
        args += ["-i", str(photo)]
    args += ["-i", str(work / "music.mp3")]
    chains = [  # each still decoded and scaled once, then repeated
        f"[{i}:v]scale={width}:{height}:force_original_aspect_ratio=increase,"
        f"crop={width}:{height},setsar=1,format=yuv420p,loop=loop={frames - 1}:size=1,"
        f"setpts=N/(30*TB)[v{i}]"
        for i in range(len(photos))
    ]
    ins = "".join(f"[v{i}]" for i in range(len(photos)))
    chains.append(f"{ins}concat=n={len(photos)}:v=1:a=0[vout]")
    args += ["-filter_complex", ";".join(chains), "-map", "[vout]", "-map", f"{len(photos)}:a"]
    args += ["-r", "30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac"]
    args += ["-t", f"{seconds:.3f}", "-movflags", "+faststart", str(out)]
    subprocess.run(args, check=True)


def sample(kind: str, work: Path) -> dict[str, float]:
    """One render in a fresh process: wall seconds, FFmpeg's peak RSS (MiB, its largest process),
    CPU seconds (FFmpeg's and the rendering process's own) and that process's growth (MiB)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, kind, str(work)], check=True, capture_output=True, text=True
    )
    took = time.perf_counter() - started
    return {**json.loads(out.stdout), "process_s": took}


def picture(work: Path) -> dict[str, float]:
    """The draft's picture (get_timeline's contact sheet, offline) of the job, made fresh in
    this process: wall and CPU seconds (FFmpeg's included) and its size."""
    from nemo_local.draft_picture import draft_picture

    draft_ = json.loads((work / "draft.json").read_text())
    before = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    started = time.perf_counter()
    sheet = draft_picture(draft_, media_of(work)) or b""
    seconds = time.perf_counter() - started
    after = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(
        a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
        for a, b in zip(after, before, strict=True)
    )
    return {"seconds": seconds, "cpu_s": cpu, "kib": len(sheet) / 1024}


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _main(kind: str, work: Path) -> None:
    if kind == "picture":
        print(json.dumps(picture(work)))
        return
    out = work / f"{kind}.mp4"
    log = work / f"{kind}-ffmpeg.log"
    log.unlink(missing_ok=True)
    wrapper = work / "ffmpeg-peak.sh"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("ffmpeg_peak.py")}" "$@"\n'
    )
    wrapper.chmod(0o755)
    os.environ.update(
        NEMO_BENCH_FFMPEG=_ffmpeg(), NEMO_BENCH_FFMPEG_LOG=str(log), NEMO_BENCH_WRAPPER=str(wrapper)
    )
    before, rss = resource.getrusage(resource.RUSAGE_SELF), _rss_mib()
    started = time.perf_counter()
    (render_ours if kind == "ours" else render_plain)(work, out)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    runs = [line.split() for line in log.read_text().splitlines()]
    own = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({
        "seconds": seconds,
        "peak_mib": max(int(kib) for kib, _ in runs) / 1024,
        "ffmpeg_cpu_s": sum(float(cpu) for _, cpu in runs),
        "own_cpu_s": own,
        "own_growth_mib": max(0.0, after.ru_maxrss / 1024 - rss),
    }))  # fmt: skip


if __name__ == "__main__":
    _main(sys.argv[1], Path(sys.argv[2]))
