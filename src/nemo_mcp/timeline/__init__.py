"""Read a NemoVideo draft leniently and describe it in plain words.

Pure: no I/O. The cloud documents the draft only as far as ``t``/``tt``/``sg``/``d``/``m``
(DESIGN section 5; our fuller convention is docs/draft-format.md), so the reader never trusts
the shape and never raises on any JSON-like input.

Reading rules (:func:`parse_draft`):

- Input is the draft itself, or a wrapper holding it: a state dict with ``draft``, the state
  answer with ``state``, or the envelope with ``data`` (``canvas_config`` beside the draft is
  used when the draft has no ``canvas``). A ``str``/``bytes`` holding JSON is decoded first.
- Short keys win, long spellings are the fallback: ``t``/``tracks``, ``tt``/``type``,
  ``sg``/``segments``, ``d``/``duration``, ``m``/``metadata``. The first *usable* value wins.
- Numbers may be ints, floats or numeric strings; bools, negatives, NaN, infinities, garbage
  and times over ``_MAX_MS`` count as missing. Milliseconds round half up.
- ``tt`` 0/1/7 is video/audio/text, any other code "other"; without a code, a word in ``type``
  or the segments' ``m.kind`` or the role decides. Non-dict tracks and segments are skipped;
  ``index`` counts the tracks kept, from 1.
- A segment starts at ``st``, ``s`` or ``start``, else where the track's previous segment ended;
  a missing duration is 0. Its label is ``m.name``, ``m.title`` or ``m.text`` (strings only,
  whitespace collapsed); text segments show ``m.text`` first.
- Volume (``m.volume``): 0-1 is a fraction, above 1 a percent (``"35%"`` too), clamped to 100.
  A track's level is its own ``m.volume``, else the one level all its segments agree on.
- Role comes from ``m.role``/``type``/``kind``/``category`` (track, then segments), else from a
  track named like a role ("Music", "Subtitles"); only audio (bgm, voice) and text (title,
  caption) tracks keep one.
- ``duration_ms`` is the latest segment end (the draft's own ``d`` only when nothing has length).

Summary rules (:func:`summarize`): ``Timeline (N tracks): 1. Video: x (0-10s) 2. ...``
("1 track"; no tracks gives ``Timeline (0 tracks): empty``). Names: Video; BGM (audio with role
bgm) or Audio; Title or Caption (role caption), text quoted with double quotes; Track for other
codes. The span is the earliest start to the latest end, in seconds rounded half up to a tenth,
whole seconds without a decimal ("0-2.5s", "0-10s"); a track without segments says "empty". Audio
with a known level adds ", 35%". Two labels are shown, then "+N more"; without labels the track's
own label, else "untitled" or "3 clips". Labels over ``_MAX_LABEL`` characters are cut with "...".

Diff rules (:func:`diff`): tracks are matched by name and order within that name. Video tracks
are always numbered (like an editor's V1, V2); other names only when either draft has more
than one ("BGM", "Audio 2"). One line per change, canvas first, then tracks in the earlier
draft's order, then new tracks: removed, added (with the label and span), clips added/removed,
label replaced (text: changed), media replaced, trimmed/extended/moved, clips retimed, volume.
A track whose name changes (Audio becomes BGM) reads as removed and added; a canvas is compared
only when the new draft states one; keys the summary never shows (motion, transitions) are not
compared, so such an edit reads as "No visible change".
"""

from __future__ import annotations

from nemo_mcp.timeline.diff import describe_changes, diff
from nemo_mcp.timeline.model import Role, Segment, Timeline, Track, TrackKind, is_ready
from nemo_mcp.timeline.reader import parse_draft
from nemo_mcp.timeline.wording import summarize

__all__ = [
    "Role",
    "Segment",
    "Timeline",
    "Track",
    "TrackKind",
    "describe_changes",
    "diff",
    "is_ready",
    "parse_draft",
    "summarize",
]
