"""Which skill a request is for, when one server serves them all (pure, no I/O).

The tools take an optional ``skill``; without it the words and the media decide, by these rules
(each manifest's ``choosing`` block holds its words and media shapes, so nothing here names a
skill):

1. A skill named in the words wins: its name (``picture-to-video-ai``, also with spaces) or its
   display name ("DreamFace AI"), case aside.
2. A skill that does not accept a file of the request is out (a video rules out the photo-only
   skills; HEIC rules out those without it). A message without files is scored with the
   conversation's last upload, which then only scores (rule 3), never rules a skill out.
3. Each remaining skill scores 2 for every word of its ``choosing.words`` in the message
   (English as whole words, hyphens and case aside; Chinese anywhere; a word inside a longer one
   that matched counts once; a word right after a negation - don't, not, no, without, 不要, 别,
   不 - does not count) and 1 when the media fit one of its shapes:
   ``one-image`` (one image, nothing else), ``one-image-audio`` (one image and audio),
   ``photos`` (two images or more), ``video-audio`` (a video and audio). So a portrait + audio +
   "talk/sing/lip-sync" goes to a talking-photo skill, several photos + "slideshow" to
   picture-to-video, a video + new audio to lipsync, one image + "animate" to image-to-video.
4. The highest score wins. The skill the conversation is in stays when it is among the highest
   (a follow-up "add music" does not move the project), and when nothing scores at all.
5. Two or more at the top with no current skill among them: the answer asks which, listing
   them. Nothing scored and no current skill: one installed skill is it, else the answer asks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nemo_mcp.manifests import Manifest
from nemo_media.mediatypes import TYPES

__all__ = [
    "MediaMix",
    "SkillChoice",
    "ask_which",
    "choose_skill",
    "explain_choice",
    "media_shapes",
    "media_types",
    "which_words",
]

WORD_POINTS = 2
MEDIA_POINTS = 1
_NEGATION = re.compile(
    r"(?:\b(?:don'?t|do not|not|no|never|without|won'?t)\s+(?:\S+\s+){0,2}$)"
    r"|(?:不要|不用|别|不)\S{0,3}$"
)
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class MediaMix:
    """What a request carries: how many images, videos and audio files, and their types."""

    images: int = 0
    videos: int = 0
    audios: int = 0
    types: frozenset[str] = frozenset()

    @classmethod
    def of(cls, types: Sequence[str]) -> MediaMix:
        """From type names (``jpg``, ``mp4`` ...); unknown names count as nothing."""
        kinds = [TYPES[t].kind for t in types if t in TYPES]
        return cls(
            images=kinds.count("image"),
            videos=kinds.count("video"),
            audios=kinds.count("audio"),
            types=frozenset(t for t in types if t in TYPES),
        )

    def __add__(self, other: MediaMix) -> MediaMix:
        return MediaMix(
            self.images + other.images,
            self.videos + other.videos,
            self.audios + other.audios,
            self.types | other.types,
        )

    @property
    def empty(self) -> bool:
        return not (self.images or self.videos or self.audios)


def media_shapes(mix: MediaMix) -> frozenset[str]:
    """The shapes (rule 3) the media fit."""
    shapes = set()
    if mix.images == 1 and not mix.videos:
        shapes.add("one-image-audio" if mix.audios else "one-image")
    if mix.images >= 2 and not mix.videos:
        shapes.add("photos")
    if mix.videos and mix.audios:
        shapes.add("video-audio")
    return frozenset(shapes)


@dataclass(frozen=True)
class SkillChoice:
    """The skill chosen (``skill``), or the candidates to ask about (``skill`` is None)."""

    skill: str | None
    candidates: tuple[str, ...] = ()
    reason: str = ""


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return " ".join(re.sub(r"[-_]", " ", text).split())


def which_words(message: str, words: Sequence[str]) -> list[str]:
    """The words of ``words`` in ``message`` by rule 3 (whole English words, Chinese anywhere,
    overlaps once, negated ones left out), in the order given."""
    text = _normal(message)
    taken: list[tuple[int, int]] = []
    found: list[str] = []
    for word in sorted(words, key=len, reverse=True):
        cue = _normal(word)
        pattern = re.escape(cue) if _CJK.search(cue) else rf"(?<![\w]){re.escape(cue)}(?![\w])"
        for hit in re.finditer(pattern, text):
            start, end = hit.span()
            if any(s < end and start < e for s, e in taken):
                continue
            if _NEGATION.search(text[max(0, start - 40) : start]):
                continue
            taken.append((start, end))
            found.append(word)
            break
    return sorted(found, key=list(words).index)


def _named(message: str, manifest: Manifest) -> bool:
    text = f" {_normal(message)} "
    names = {_normal(manifest.name), _normal(manifest.display_name)}
    return any(f" {name} " in text for name in names)


def _accepts(manifest: Manifest, mix: MediaMix) -> bool:
    return all(t in manifest.accepted_types for t in mix.types)


def choose_skill(
    manifests: Mapping[str, Manifest],
    message: str = "",
    media: MediaMix = MediaMix(),
    current: str | None = None,
    *,
    strict: bool = True,
) -> SkillChoice:
    """The skill for a request by the rules above. Without ``strict`` the media only score
    (rule 2 is skipped): they are the conversation's earlier uploads, not this request's."""
    named = [name for name, m in manifests.items() if message and _named(message, m)]
    if len(named) == 1:
        return SkillChoice(named[0], reason=f"named: {named[0]}")
    fitting = {n: m for n, m in manifests.items() if not strict or _accepts(m, media)} or dict(
        manifests
    )
    current = current if current in fitting else None
    shapes = media_shapes(media)
    scores: dict[str, int] = {}
    reasons: dict[str, list[str]] = {}
    for name, manifest in fitting.items():
        words = which_words(message, manifest.choosing.words) if message else []
        fits = sorted(shapes & set(manifest.choosing.media))
        scores[name] = WORD_POINTS * len(words) + MEDIA_POINTS * len(fits)
        reasons[name] = [*words, *(f"media: {f}" for f in fits)]
    best = max(scores.values(), default=0)
    top = tuple(n for n, s in scores.items() if s == best)
    if best == 0:
        if current:
            return SkillChoice(current, reason="the conversation's skill")
        if len(fitting) == 1:
            return SkillChoice(next(iter(fitting)), reason="the only skill that fits")
        return SkillChoice(None, tuple(fitting), reason="nothing in the request points to one")
    if current in top:
        why = ", ".join(reasons[current])
        return SkillChoice(current, reason=f"the conversation's skill: {why}")
    if len(top) == 1:
        return SkillChoice(top[0], reason=", ".join(reasons[top[0]]))
    return SkillChoice(None, top, reason="equally fitting: " + ", ".join(top))


def ask_which(manifests: Mapping[str, Manifest], candidates: Sequence[str], tool: str) -> str:
    """The answer when the request fits several skills: which, in words, listing them."""
    listed = "; ".join(
        f"{name} ({manifests[name].choosing.choice or manifests[name].description})"
        for name in candidates
        if name in manifests
    )
    return (
        f"Which skill should do this? It fits {listed}. Ask the user if it is not clear, then "
        f"call {tool} again with `skill` set to one of: {', '.join(candidates)}."
    )


def explain_choice(manifests: Mapping[str, Manifest], phrase: str, types: Sequence[str]) -> str:
    """One line for ``nemo-mcp skills --pick`` and ``doctor --pick``: what a phrase would pick."""
    choice = choose_skill(manifests, phrase, MediaMix.of(types))
    media = f" with {', '.join(types)}" if types else ""
    if choice.skill:
        return f"{phrase!r}{media} -> {choice.skill} ({choice.reason})"
    return f"{phrase!r}{media} -> asks which: {', '.join(choice.candidates)} ({choice.reason})"


def media_types(items: Sequence[str]) -> list[str]:
    """Type names from file names or bare types (``a.JPG``, ``.mp3``, ``wav``)."""
    return [item.rsplit(".", 1)[-1].lower() for item in items if item.strip()]
