"""The local agent's hands: each function applies one decided change to the draft of a turn being
assembled (``PlannedWork``), records the tool call and says what it did. Which change a message asks
for is decided in ``agent.py``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from nemo_local import drafts
from nemo_local.drafts import AUDIO, TEXT, VIDEO
from nemo_local.phrases import say, word

GENERATION_COST = 100
EDIT_COST = 50
SLIDE_MS = 3000
ANIMATE_MS = 5000
TALK_MS = 10000
DEFAULT_MUSIC_VOLUME = 0.5
GENERATION_TOOLS = frozenset({"build_slideshow", "animate_image", "replace_audio", "talking_photo"})

TurnKind = Literal["generation", "edit", "none"]


@dataclass(frozen=True)
class MediaRef:
    """What the agent knows about an upload."""

    media_id: str
    name: str
    kind: str
    """image, video or audio."""
    duration_ms: int | None = None


@dataclass(frozen=True)
class PlannedCall:
    name: str
    args: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class AgentTurn:
    """The outcome of one message."""

    draft: dict[str, Any]
    reply: str
    calls: tuple[PlannedCall, ...]
    kind: TurnKind

    @property
    def cost(self) -> int:
        return {"generation": GENERATION_COST, "edit": EDIT_COST}.get(self.kind, 0)


@dataclass
class PlannedWork:
    """A turn being assembled: the new draft, the calls made, what to say."""

    draft: dict[str, Any]
    lang: str
    calls: list[PlannedCall] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: TurnKind = "none"
    ending: str = "preview"
    undrawable: Callable[[str], str] = field(default=lambda text: "")
    """The characters of a text no font here can draw (``fonts``; none in pure tests)."""

    def did(self, call: PlannedCall, sentence: str, *, generation: bool = False) -> None:
        self.calls.append(call)
        self.said.append(sentence)
        if generation:
            self.kind = "generation"
        elif self.kind == "none":
            self.kind = "edit"

    def say(self, key: str, **values: Any) -> str:
        return say(self.lang, key, **values)

    def note(self, key: str, **values: Any) -> None:
        """Something honest to add to the reply (a missing upload, a local limit)."""
        self.notes.append(self.say(key, **values))

    def finish(self) -> AgentTurn:
        if not self.calls:
            reply = " ".join(self.notes) or self.say("unknown")
            return AgentTurn(self.draft, reply, (), "none")
        drafts.refit(self.draft)
        ending = self.say("ready" if self.kind == "generation" else self.ending)
        reply = " ".join([*self.said, *self.notes, ending])
        return AgentTurn(self.draft, reply, tuple(self.calls), self.kind)


def _secs(ms: int) -> str:
    return f"{ms / 1000:g}"


def slideshow(
    work: PlannedWork, images: list[MediaRef], transition: str, duration: tuple[int, bool] | None
) -> None:
    """Every image a segment (3 s, or as asked), motions cycling, ``transition`` between."""
    segs = []
    for i, img in enumerate(images):
        meta: dict[str, Any] = {"name": img.name, "media_id": img.media_id, "kind": "image"}
        meta["motion"] = drafts.MOTIONS[i % len(drafts.MOTIONS)]
        if transition != "none" and i < len(images) - 1:
            meta |= {"transition": transition, "transition_ms": drafts.TRANSITION_MS}
        segs.append({"st": 0, "d": SLIDE_MS, "m": meta})
    if duration and duration[1]:
        lengths = [duration[0]] * len(segs)
    else:
        total = duration[0] if duration else SLIDE_MS * len(segs)
        lengths = [total // len(segs)] * len(segs)
        lengths[-1] += total - sum(lengths)
    drafts.lay_out(segs, lengths)
    drafts.put(work.draft, {"tt": VIDEO, "m": {"name": "Photos"}, "sg": segs})
    total = sum(lengths)
    args = {"media_ids": [m.media_id for m in images], "transition": transition}
    result = {"status": "ok", "segments": len(segs), "duration_ms": total}
    if len(images) == 1:
        sentence = work.say("slideshow_one", seconds=_secs(total))
    else:
        shown = ""
        if transition != "none":
            shown = work.say("with_transition", name=word(work.lang, transition))
        sentence = work.say("slideshow", count=len(images), seconds=_secs(total), transition=shown)
    work.did(PlannedCall("build_slideshow", args, result), sentence, generation=True)


def animate(work: PlannedWork, image: MediaRef, ms: int, motion: str) -> None:
    """One image for ``ms`` with a slow ``motion``."""
    seg = drafts.segment(
        0, ms, name=image.name, media_id=image.media_id, kind="image", motion=motion
    )
    drafts.put(work.draft, drafts.single(VIDEO, "Animated image", None, seg))
    call = PlannedCall(
        "animate_image",
        {"media_id": image.media_id, "duration_ms": ms, "motion": motion},
        {"status": "ok", "duration_ms": ms},
    )
    sentence = work.say(
        "animate", name=image.name, seconds=_secs(ms), motion=word(work.lang, motion)
    )
    work.did(call, sentence, generation=True)


def _voice_track(audio: MediaRef, ms: int) -> drafts.Track:
    seg = drafts.segment(
        0, ms, name=audio.name, media_id=audio.media_id, kind="audio", role="voice", volume=1.0
    )
    return drafts.single(AUDIO, "Voice", "voice", seg)


def dub(work: PlannedWork, video: MediaRef, audio: MediaRef) -> None:
    """The video muted, the audio as its voice; lips are not re-synced (and the reply says so)."""
    length = video.duration_ms or audio.duration_ms or TALK_MS
    seg = drafts.segment(
        0, length, name=video.name, media_id=video.media_id, kind="video", mute=True
    )
    drafts.put(work.draft, drafts.single(VIDEO, "Video", None, seg))
    drafts.put(work.draft, _voice_track(audio, min(audio.duration_ms or length, length)))
    call = PlannedCall(
        "replace_audio",
        {"video_media_id": video.media_id, "audio_media_id": audio.media_id},
        {"status": "ok", "duration_ms": length, "lips_resynced": False},
    )
    work.did(call, work.say("dub", video=video.name, audio=audio.name), generation=True)
    work.note("dub_note")


def talking_photo(
    work: PlannedWork, image: MediaRef, audio: MediaRef, asked_ms: int | None
) -> None:
    """The portrait with a slow zoom as long as the voice; the face is not animated locally."""
    length = asked_ms or audio.duration_ms or TALK_MS
    seg = drafts.segment(
        0, length, name=image.name, media_id=image.media_id, kind="image", motion="zoom_in"
    )
    drafts.put(work.draft, drafts.single(VIDEO, "Talking photo", None, seg))
    drafts.put(work.draft, _voice_track(audio, min(audio.duration_ms or length, length)))
    call = PlannedCall(
        "talking_photo",
        {"image_media_id": image.media_id, "audio_media_id": audio.media_id},
        {"status": "ok", "duration_ms": length, "face_animated": False},
    )
    sentence = work.say("talking", image=image.name, audio=audio.name, seconds=_secs(length))
    work.did(call, sentence, generation=True)
    work.note("talking_note")


def set_duration(work: PlannedWork, ms: int, each: bool) -> None:
    """Rescale the video to ``ms`` in all (or give each segment ``ms``)."""
    track = drafts.find(work.draft, VIDEO)
    segs = drafts.segments(track) if track else []
    if track is None or not segs:
        work.note("need_video")
        return
    if each:
        drafts.lay_out(segs, [ms] * len(segs))
        args, sentence = {"segment_ms": ms}, work.say("duration_each", seconds=_secs(ms))
    else:
        drafts.rescale(track, ms)
        args, sentence = {"duration_ms": ms}, work.say("duration", seconds=_secs(ms))
    drafts.refit(work.draft)
    result = {"status": "ok", "duration_ms": drafts.video_length(work.draft)}
    work.did(PlannedCall("set_duration", args, result), sentence)


def add_text(work: PlannedWork, role: str, words: str) -> None:
    """A title (0-3 s) or a caption (the whole video), replacing the one before."""
    length = drafts.video_length(work.draft) or drafts.TITLE_MS
    end = min(drafts.TITLE_MS, length) if role == "title" else length
    seg = drafts.segment(0, end, name=words, kind="text", role=role, text=words)
    drafts.put(work.draft, drafts.single(TEXT, role.capitalize(), role, seg))
    call = PlannedCall(
        f"add_{role}", {"text": words}, {"status": "ok", "start_ms": 0, "end_ms": end}
    )
    work.did(call, work.say(role, text=words, start=0, end=_secs(end)))
    if missing := work.undrawable(words):
        work.note("no_font", chars=missing)


def set_music(work: PlannedWork, audio: MediaRef, volume: float | None) -> None:
    """``audio`` as background music over the whole video (replacing any)."""
    length = drafts.video_length(work.draft)
    if length <= 0:
        work.note("need_video")
        return
    level = DEFAULT_MUSIC_VOLUME if volume is None else volume
    seg = drafts.segment(
        0, length, name=audio.name, media_id=audio.media_id, kind="audio", role="bgm", volume=level
    )
    drafts.put(work.draft, drafts.single(AUDIO, "Music", "bgm", seg))
    call = PlannedCall(
        "set_music",
        {"media_id": audio.media_id, "volume": level},
        {"status": "ok", "duration_ms": length},
    )
    work.did(call, work.say("music", name=audio.name, percent=f"{level * 100:g}"))
    work.ending = "audio_panel"


def set_volume(work: PlannedWork, track: drafts.Track, volume: float) -> None:
    """A new level for the music ``track``."""
    for seg in drafts.segments(track):
        if isinstance(seg.get("m"), dict):
            seg["m"]["volume"] = volume
    call = PlannedCall("set_volume", {"volume": volume}, {"status": "ok"})
    work.did(call, work.say("volume", percent=f"{volume * 100:g}"))
    work.ending = "audio_panel"


def remove(work: PlannedWork, target: str) -> None:
    """Drop the title, caption or music (``bgm``) track; say so if there is none."""
    tt = AUDIO if target == "bgm" else TEXT
    if not drafts.remove(work.draft, tt, target):
        work.note(f"nothing_{target}")
        return
    name = "remove_music" if target == "bgm" else f"remove_{target}"
    work.did(PlannedCall(name, {}, {"status": "ok"}), work.say(f"removed_{target}"))
