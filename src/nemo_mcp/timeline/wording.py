"""The one-line summary of a timeline, and the wording the diff shares (rules in
``nemo_mcp.timeline``). Pure."""

from __future__ import annotations

from nemo_mcp.timeline.model import Timeline, Track, phrase

SUMMARY_QUOTE = '"'  # text in a summary: Title: "Urban Dreams"


def summarize(timeline: Timeline) -> str:
    """The one-line summary the seeds show users (format in the module docstring)."""
    head = f"Timeline ({count(len(timeline.tracks), 'track')})"
    if not timeline.tracks:
        return f"{head}: empty"
    entries = (
        f"{t.index}. {t.name}: {entry(t, SUMMARY_QUOTE if t.kind == 'text' else '')}"
        for t in timeline.tracks
    )
    return f"{head}: " + " ".join(entries)


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def noun(track: Track) -> str:
    return "text" if track.kind == "text" else "clip"


def span(track: Track) -> str:
    return f"{seconds(track.start_ms)}-{seconds(track.end_ms)}s" if track.segments else "empty"


def seconds(ms: int) -> str:
    whole, tenth = divmod((ms + 50) // 100, 10)
    return f"{whole}.{tenth}" if tenth else str(whole)


def named(track: Track, quote: str) -> str:
    """The phrase, or "untitled" / "3 clips" when nothing is named."""
    n = len(track.segments)
    return phrase(track, quote) or (count(n, noun(track)) if n > 1 else "untitled")


def entry(track: Track, quote: str) -> str:
    """``label (0-10s, 35%)``: the part of a summary line after the track's name."""
    volume = track.volume_pct
    level = f", {volume}%" if track.kind == "audio" and volume is not None else ""
    return f"{named(track, quote)} ({span(track)}{level})"
