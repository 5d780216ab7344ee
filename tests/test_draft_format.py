"""Both readers of the draft, held to ``docs/draft-format.md`` and to each other.

The client reads drafts for the timeline summary (``nemo_mcp.timeline.parse_draft``); the embedded
backend reads them for rendering (``nemo_local.draft_reading.read_draft``) with code of its own.
The fixtures in ``tests/fixtures/drafts`` say what each draft reads as; the documented example is
taken from the document itself; and arbitrary drafts of the documented shape must read the same
on both sides, so a misreading on either side is a failing test. Inside the embedded backend, what
its editor writes is read back by its renderer's reader with the times the editor laid out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemo_local import drafts, edits
from nemo_local.draft_reading import read_draft
from nemo_local.edits import MediaRef, PlannedWork
from nemo_local.render_plan import MediaInfo, plan_render, to_frames
from nemo_mcp.timeline import parse_draft

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "drafts").glob("*.json"))

Reading = dict[str, Any]


def client_reading(draft: dict[str, Any]) -> Reading:
    timeline = parse_draft(draft)
    return {
        "duration_ms": timeline.duration_ms,
        "canvas": list(timeline.canvas) if timeline.canvas else None,
        "tracks": [
            {
                "kind": t.kind,
                "segments": [
                    [s.start_ms, s.duration_ms, s.media_id, s.volume_pct] for s in t.segments
                ],
            }
            for t in timeline.tracks
        ],
    }


def backend_reading(draft: dict[str, Any]) -> Reading:
    reading = read_draft(draft)
    return {
        "duration_ms": reading.duration_ms,
        "canvas": list(reading.canvas) if reading.canvas else None,
        "tracks": [
            {
                "kind": lane.kind,
                "segments": [
                    [c.start_ms, c.duration_ms, c.media_id, _percent(c.volume)] for c in lane.clips
                ],
            }
            for lane in reading.lanes
        ],
    }


def _percent(volume: float | None) -> int | None:
    return None if volume is None else int(min(volume * 100, 100.0) + 0.5)


def documented_example() -> dict[str, Any]:
    """The ``jsonc`` example of docs/draft-format.md, its comments removed."""
    text = (ROOT / "docs" / "draft-format.md").read_text(encoding="utf-8")
    block = re.search(r"```jsonc\n(.*?)```", text, re.S)
    assert block, "docs/draft-format.md lost its example"
    draft: dict[str, Any] = json.loads(re.sub(r"\s*//[^\n]*", "", block.group(1)))
    return draft


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_each_fixture_draft_reads_as_written_on_both_sides(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    assert client_reading(fixture["draft"]) == fixture["reads_as"]
    assert backend_reading(fixture["draft"]) == fixture["reads_as"]


def test_the_documented_example_reads_the_same_on_both_sides() -> None:
    draft = documented_example()
    reading = backend_reading(draft)
    assert reading == client_reading(draft)
    assert reading["canvas"] == [1080, 1920] and reading["tracks"][0]["kind"] == "video"
    assert reading["tracks"][0]["segments"] == [[0, 3000, "med_3f2a...", 30]]


def test_the_backend_keeps_every_metadata_key_the_renderer_needs() -> None:
    clip = read_draft(documented_example()).lanes[0].clips[0]
    assert {"motion", "transition", "transition_ms", "mute", "role", "text"} <= set(clip.meta)


_meta = st.fixed_dictionaries(
    {},
    optional={
        "media_id": st.text("abcdef0123_", min_size=1, max_size=8),
        "volume": st.one_of(st.floats(0, 1), st.integers(0, 100)),
        "name": st.text(max_size=5),
    },
)
_segment = st.fixed_dictionaries(
    {"d": st.integers(0, 100_000), "m": _meta}, optional={"st": st.integers(0, 1_000_000)}
)
_track = st.fixed_dictionaries(
    {"tt": st.sampled_from([0, 1, 7, 3]), "sg": st.lists(_segment, max_size=5)}
)
_draft = st.fixed_dictionaries(
    {"t": st.lists(_track, max_size=4)},
    optional={
        "canvas": st.fixed_dictionaries(
            {"width": st.integers(1, 4096), "height": st.integers(1, 4096)}
        )
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_draft)
def test_any_draft_of_the_documented_shape_reads_the_same_on_both_sides(
    draft: dict[str, Any],
) -> None:
    assert backend_reading(draft) == client_reading(draft)


# -- the embedded backend's editor against its own renderer --------------------------------------

_IMAGES = [MediaRef(f"med_{i}", f"p{i}.jpg", "image") for i in range(4)]
_MUSIC = MediaRef("med_song", "song.mp3", "audio", 30_000)
_edit = st.one_of(
    st.tuples(st.just("duration"), st.integers(500, 60_000), st.booleans()),
    st.tuples(st.just("text"), st.sampled_from(["title", "caption"]), st.text(min_size=1)),
    st.tuples(st.just("music"), st.one_of(st.none(), st.floats(0, 1))),
    st.tuples(st.just("volume"), st.floats(0, 1)),
    st.tuples(st.just("remove"), st.sampled_from(["title", "caption", "bgm"])),
)


def _apply(draft: dict[str, Any], edit: tuple[Any, ...]) -> dict[str, Any]:
    work = PlannedWork(draft, "en")
    if edit[0] == "duration":
        edits.set_duration(work, edit[1], edit[2])
    elif edit[0] == "text":
        edits.add_text(work, edit[1], edit[2])
    elif edit[0] == "music":
        edits.set_music(work, _MUSIC, edit[1])
    elif edit[0] == "volume" and (music := drafts.find(draft, drafts.AUDIO, "bgm")) is not None:
        edits.set_volume(work, music, edit[1])
    elif edit[0] == "remove":
        edits.remove(work, edit[1])
    return work.finish().draft


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4),
    st.sampled_from(["none", "fade", "slide"]),
    st.lists(_edit, max_size=6),
)
def test_what_the_backends_editor_writes_its_renderer_reads_as_written(
    photos: int, transition: str, made: list[tuple[Any, ...]]
) -> None:
    """The editor (``nemo_local.edits`` over ``drafts``) and the renderer's reader
    (``draft_reading``) share one number parser; every draft the editor makes after any edits
    reads back, on the renderer's side and the client's, with the times the editor laid out,
    and renders to a plan as long as its video."""
    work = PlannedWork({"t": []}, "en")
    edits.slideshow(work, _IMAGES[:photos], transition, None)
    draft = work.finish().draft
    for edit in made:
        draft = _apply(draft, edit)
    reading = read_draft(draft)
    written = [drafts.spans(track) for track in drafts.tracks(draft)]
    read = [[(c.start_ms, c.end_ms) for c in lane.clips] for lane in reading.lanes]
    assert read == written
    assert backend_reading(draft) == client_reading(draft)
    media = {m.media_id: MediaInfo("image") for m in _IMAGES} | {
        _MUSIC.media_id: MediaInfo("audio", has_audio=True)
    }
    plan = plan_render(draft, media, fps=25)
    assert plan.frames == max(1, to_frames(drafts.video_length(draft), 25))
    assert sum(v.frames for v in plan.base) == plan.frames
