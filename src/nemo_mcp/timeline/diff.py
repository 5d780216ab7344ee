"""What changed between two timelines, one plain sentence per change (rules in
``nemo_mcp.timeline``). Pure."""

from __future__ import annotations

from collections import Counter

from nemo_mcp.timeline.model import Timeline, Track
from nemo_mcp.timeline.wording import count, entry, named, noun, span

_NO_CHANGE = "No visible change to the timeline."
_DIFF_QUOTE = "'"  # any label in a diff: Title added: 'Paradise Found'


def diff(before: Timeline, after: Timeline) -> list[str]:
    """What changed, one plain sentence per change, in a stable order; [] when nothing did."""
    changes: list[str] = []
    if after.canvas is not None and after.canvas != before.canvas:
        changes.append(f"Canvas changed to {after.canvas[0]}x{after.canvas[1]}")
    old, new = _keyed(before), _keyed(after)
    most = Counter(n for n, _ in old) | Counter(n for n, _ in new)
    for key in [*old, *(k for k in new if k not in old)]:
        name, number = key
        ref = f"{name} {number}" if name == "Video" or most[name] > 1 else name
        a, b = old.get(key), new.get(key)
        if b is None:
            changes.append(f"{ref} removed")
        elif a is None:
            changes.append(f"{ref} added: {entry(b, _DIFF_QUOTE)}")
        else:
            changes.extend(_track_changes(ref, a, b))
    return changes


def describe_changes(before: Timeline, after: Timeline) -> str:
    """The diff as one sentence, so a silent edit is never answered with silence."""
    return "; ".join(diff(before, after)) or _NO_CHANGE


def _keyed(timeline: Timeline) -> dict[tuple[str, int], Track]:
    seen: Counter[str] = Counter()
    keyed: dict[tuple[str, int], Track] = {}
    for track in timeline.tracks:
        seen[track.name] += 1
        keyed[(track.name, seen[track.name])] = track
    return keyed


def _track_changes(ref: str, a: Track, b: Track) -> list[str]:
    changes: list[str] = []
    count_a, count_b, what = len(a.segments), len(b.segments), noun(b)
    if count_b != count_a:
        verb = "added" if count_b > count_a else "removed"
        changes.append(f"{ref}: {count(abs(count_b - count_a), what)} {verb} (now {count_b})")
    elif (old := named(a, _DIFF_QUOTE)) != (new := named(b, _DIFF_QUOTE)):
        changes.append(f"{ref} {'changed' if b.kind == 'text' else 'replaced'}: {old} -> {new}")
    elif [s.media_id for s in a.segments] != [s.media_id for s in b.segments]:
        changes.append(f"{ref}: media replaced")
    if count_a and count_b:
        length_a, length_b = a.end_ms - a.start_ms, b.end_ms - b.start_ms
        if length_b != length_a:
            verb = "extended" if length_b > length_a else "trimmed"
            changes.append(f"{ref} {verb} to {span(b)}")
        elif a.start_ms != b.start_ms:
            changes.append(f"{ref} moved to {span(b)}")
        elif count_a == count_b and _timings(a) != _timings(b):
            changes.append(f"{ref}: {what}s retimed")
    if a.volume_pct != b.volume_pct:
        if b.volume_pct is None:
            changes.append(f"{ref} volume back to default (was {a.volume_pct}%)")
        elif a.volume_pct is None:
            changes.append(f"{ref} volume set to {b.volume_pct}%")
        else:
            changes.append(f"{ref} volume {a.volume_pct}% -> {b.volume_pct}%")
    return changes


def _timings(track: Track) -> list[tuple[int, int]]:
    return [(s.start_ms, s.duration_ms) for s in track.segments]
