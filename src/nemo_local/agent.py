"""The local agent's rules: a message, the session's draft and its uploads -> the new draft, the
reply, the tool calls and the cost. This module reads what the message asks; ``edits`` applies
it. Pure: no I/O, no clock, no randomness (silence is decided by the caller), so every rule is a
row in a test table.

Rules (case-insensitive, English and Chinese; words inside quotes are content, not commands):

1. At most one *base* clause builds the video track. It is a generation (100 credits):
   - talking photo: "talking photo", "make this photo talk", "avatar", "让照片说话" -- or a dub
     request with a photo word, or with no video uploaded -- needs an image and an audio file:
     the latest image with a slow zoom, as long as the audio (10 s when unknown), and the audio as
     a voice track. The reply says the face is not animated locally.
   - dub / lip-sync: "dub", "lip-sync", "replace the audio", "sync this voiceover", "配音" -- needs
     a video and an audio file: the latest video, muted, and the latest audio as a voice track.
     The reply says the lips are not re-synthesized locally.
   - picture-to-video: "slideshow", or a plural photo word ("photos", "pictures") with a video word
     or "animate" -- every uploaded image in upload order, 3 s each, motion cycling zoom_in,
     zoom_out, pan_left, pan_right, a 500 ms fade into the next ("slide" transitions when asked,
     none with "no transitions").
   - animate one image: "animate", "image to video", "bring ... to life", "动起来", or a singular
     photo word with a video word -- the latest image for 5 s with a slow zoom_in ("zoom out",
     "pan left", "pan" choose another motion).
2. A duration ("12 seconds", "a 5-second clip", "1 minute", "3 秒"; "each"/"per" makes it per
   segment) sets the length of a picture-to-video, animation or talking photo being built; with no
   such clause it rescales the existing video track (an edit, ``set_duration``).
3. "title 'X'" adds or replaces a title (0-3 s); "caption 'X'"/"subtitle 'X'" one over the whole
   video. The text is the first quoted text after the word (or follows "saying", "called", ":");
   ASCII and typographic quotes delimit it in any language. When no font here can draw some of
   its characters, the reply says so (they would show as boxes).
4. Music words ("song", "music", "bgm", "背景音乐") with an add verb ("add", "use", "with", "加"):
   the latest uploaded audio (not the one just used as a voice) as a ``bgm`` track over the video,
   at the percentage given ("at 30%"), else 50% so it never drowns speech. Without an add verb, a
   percentage with music or "volume" changes the existing music's volume.
5. "remove"/"delete"/"drop"/"删除"/"去掉" followed by title, caption or music removes that track.
   Negated requests ("no music", "without a title", "don't add ...") are skipped.

A message is charged once: 100 when a generation clause applied, else 50 when an edit applied,
else nothing. Nothing applicable gets an honest reply saying what is missing, or listing what the
local backend can do (free). Replies are in Chinese when the message is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nemo_local import drafts, edits
from nemo_local.drafts import AUDIO
from nemo_local.edits import (
    ANIMATE_MS,
    EDIT_COST,
    GENERATION_COST,
    GENERATION_TOOLS,
    AgentTurn,
    MediaRef,
    PlannedCall,
    PlannedWork,
)
from nemo_local.phrases import word

__all__ = [
    "EDIT_COST",
    "GENERATION_COST",
    "GENERATION_TOOLS",
    "MediaRef",
    "PlannedCall",
    "AgentTurn",
    "plan_turn",
    "reply_language",
]

_I = re.IGNORECASE
# Quotes delimit content in any language: an ASCII apostrophe only counts as one where no letter
# of an alphabet touches it (Tom's, don't), so 标题'你好' is quoted as "title 'Hi'" is.
_ALPHABET = r"A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_QUOTE = re.compile(
    rf"(?<![{_ALPHABET}])'(.+?)'(?![{_ALPHABET}])|\"(.+?)\"|“(.+?)”|‘(.+?)’|「(.+?)」|『(.+?)』"
    r"|《(.+?)》|＂(.+?)＂|„(.+?)“|«(.+?)»"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TALK = re.compile(
    r"\btalking\s+(?:photo|picture|portrait|avatar|head|face)\b|\bavatar\b|说话|开口"
    r"|\bmake\s+(?:this|the|my|it|her|him)?\s*(?:photo|picture|portrait|image|face)?\s*"
    r"(?:talk|speak|sing)\b"
)
_DUB = re.compile(
    r"\bdub(?:bing|bed)?\b|\blip[\s-]?sync|\bvoice[\s-]?over\b|\bsync\b|配音|对口型|替换音频"
    r"|\b(?:replace|swap|change)\b.{0,25}\b(?:audio|sound|voice)\b"
)
_PHOTO = re.compile(r"\b(?:photo|picture|image|pic|portrait|still)s?\b|照片|图片|相片|人像")
_PHOTOS = re.compile(r"\b(?:photos|pictures|images|pics|stills)\b")
_CJK_PHOTO = re.compile(r"照片|图片|相片")
_VIDEOISH = re.compile(r"\b(?:video|movie|reel|clip|film|animation)s?\b|视频|短片|动画")
_SLIDESHOW = re.compile(r"\bslide\s?show\b|幻灯片")
_ANIMATE = re.compile(r"\banimate\b|\bbring\b.{0,25}\bto life\b|\bimage[\s-]to[\s-]video\b|动起来")
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(seconds?|secs?|s|minutes?|mins?|秒钟?|分钟)(?![a-z])"
)
_EACH = re.compile(r"\b(?:each|per|apiece)\b|每")
_TITLE = re.compile(r"\b(?:title|heading|headline)\b|标题")
_CAPTION = re.compile(r"\b(?:caption|subtitles?)\b|字幕")
_MUSIC = re.compile(r"\b(?:song|music|soundtrack|bgm|tune)\b|背景音乐|音乐|配乐|歌曲")
_ADD = re.compile(r"\b(?:add|use|put|with|play|include)\b|加|配|用")
_VOLUME = re.compile(r"\bvolume\b|音量")
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|％|percent\b)")
_NEGATION = re.compile(r"\b(?:no|without|don'?t|do not|never)\b|不要|别|不用")
_INTRO = re.compile(r"^\s*(?:saying|that says|which says|reading|called|named|:|：|=)\s*", _I)
_REMOVE = re.compile(
    r"\b(?:remove|delete|drop|take\s+out|get\s+rid\s+of|clear)\b|删除|去掉|移除|删掉"
)
_CLAUSE_END = re.compile(
    r"[.;!?。；！？]|\b(?:add|put|make|turn|set|use|change|replace)\b|添加|加上|做成"
)
_TARGETS = {"title": _TITLE, "caption": _CAPTION, "bgm": _MUSIC}


def plan_turn(
    message: str,
    draft: Mapping[str, Any],
    media: Sequence[MediaRef],
    *,
    language: str = "en",
    undrawable: Callable[[str], str] = lambda text: "",
) -> AgentTurn:
    """Apply the rules of the module docstring to ``message``; ``undrawable(text)`` names the
    characters of a title no font can draw (the reply then says so)."""
    text = message.strip()
    plain = _QUOTE.sub(lambda m: " " * len(m.group(0)), text).lower()
    work = PlannedWork(
        copy.deepcopy(dict(draft)), reply_language(text, language), undrawable=undrawable
    )
    removed = _removal_targets(plain)
    duration = _duration(plain)
    voice: MediaRef | None = None
    consumed = False
    if text:
        consumed, voice = _base_clause(work, plain, media, duration)
    if duration and not consumed:
        edits.set_duration(work, *duration)
    drafts.refit(work.draft)
    for role, pattern in (("title", _TITLE), ("caption", _CAPTION)):
        if role not in removed:
            _text_clause(work, text, plain, role, pattern)
    if "bgm" not in removed:
        _music_clause(work, plain, media, voice)
    for target in sorted(removed):
        edits.remove(work, target)
    return work.finish()


def reply_language(text: str, default: str) -> str:
    """ "zh" when the message is Chinese (or has no letters and the session is), else "en"."""
    if _CJK.search(text):
        return "zh"
    if re.search(r"[A-Za-z]", text):
        return "en"
    return "zh" if default.lower().startswith("zh") else "en"


def _latest(media: Sequence[MediaRef], kind: str) -> MediaRef | None:
    return next((m for m in reversed(media) if m.kind == kind), None)


def _duration(plain: str) -> tuple[int, bool] | None:
    """(milliseconds, per segment) of the first duration in the message."""
    match = _DURATION.search(plain)
    if not match:
        return None
    value = float(match.group(1))
    if match.group(2).startswith(("min", "分")):
        value *= 60
    ms = int(min(max(value, 0.0), 600.0) * 1000)
    return (ms, bool(_EACH.search(plain))) if ms >= 100 else None


def _wanted(plain: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """The first match of ``pattern`` that is not negated just before it."""
    for match in pattern.finditer(plain):
        if not _NEGATION.search(plain[max(0, match.start() - 20) : match.start()]):
            return match
    return None


def _removal_targets(plain: str) -> set[str]:
    out: set[str] = set()
    for match in _REMOVE.finditer(plain):
        tail = plain[match.end() :]
        stop = _CLAUSE_END.search(tail)
        scope = tail[: stop.start()] if stop else tail
        out.update(t for t, pattern in _TARGETS.items() if pattern.search(scope))
    return out


def _transition(plain: str) -> str:
    if re.search(r"\b(?:no|without)\s+transitions?\b|不要转场|无转场", plain):
        return "none"
    if re.search(r"\bslide\b|滑动", plain):
        return "slide"
    return "fade"


def _motion(plain: str) -> str:
    if re.search(r"\bzoom(?:ing)?\s+out\b|缩小", plain):
        return "zoom_out"
    if re.search(r"\bpan(?:ning)?\s+left\b|左", plain):
        return "pan_left"
    if re.search(r"\bpan", plain):
        return "pan_right"
    return "zoom_in"


def _base_clause(
    work: PlannedWork, plain: str, media: Sequence[MediaRef], duration: tuple[int, bool] | None
) -> tuple[bool, MediaRef | None]:
    """Build the video track if the message asks; (duration consumed, audio used as a voice)."""
    image, video, audio = (_latest(media, k) for k in ("image", "video", "audio"))
    dub = _wanted(plain, _DUB)
    if _wanted(plain, _TALK) or (dub and (_PHOTO.search(plain) or (video is None and image))):
        if image is None or audio is None:
            work.note("need_image_audio")
            return False, None
        edits.talking_photo(work, image, audio, duration[0] if duration else None)
        return bool(duration), audio
    if dub:
        if video is None or audio is None:
            work.note("need_video_audio")
            return False, None
        edits.dub(work, video, audio)
        return False, audio
    images = [m for m in media if m.kind == "image"]
    videoish = _VIDEOISH.search(plain) or _ANIMATE.search(plain)
    slideshow = _SLIDESHOW.search(plain) or (_PHOTOS.search(plain) and videoish)
    if slideshow or (_CJK_PHOTO.search(plain) and videoish and len(images) > 1):
        if not images:
            work.note("need_images")
            return False, None
        edits.slideshow(work, images, _transition(plain), duration)
        return bool(duration), None
    if _ANIMATE.search(plain) or (_PHOTO.search(plain) and _VIDEOISH.search(plain)):
        if image is None:
            work.note("need_images")
            return False, None
        edits.animate(work, image, duration[0] if duration else ANIMATE_MS, _motion(plain))
        return bool(duration), None
    return False, None


def _text_clause(
    work: PlannedWork, text: str, plain: str, role: str, pattern: re.Pattern[str]
) -> None:
    """A title or caption: the first quoted text after the word, or words after "saying"."""
    match = _wanted(plain, pattern)
    if match is None:
        return
    quoted = [next(g for g in q.groups() if g) for q in _QUOTE.finditer(text, match.end())]
    if quoted:
        words = quoted[0].strip()
    else:
        intro = _INTRO.match(text[match.end() :])
        tail = text[match.end() + intro.end() :] if intro else ""
        words = re.split(r"\s+and\s+|[,.;!?，。；！？]", tail, maxsplit=1)[0].strip()
    if words:
        edits.add_text(work, role, words)
    else:
        work.note("need_text", what=word(work.lang, role))


def _music_clause(
    work: PlannedWork, plain: str, media: Sequence[MediaRef], voice: MediaRef | None
) -> None:
    music = _wanted(plain, _MUSIC)
    percent = _PERCENT.search(plain)
    volume = min(float(percent.group(1)), 100.0) / 100 if percent else None
    current = drafts.find(work.draft, AUDIO, "bgm")
    if music and _ADD.search(plain):
        audio = next((m for m in reversed(media) if m.kind == "audio" and m != voice), None)
        if audio is None:
            work.note("need_audio")
        else:
            edits.set_music(work, audio, volume)
    elif volume is not None and current and (music or _VOLUME.search(plain)):
        edits.set_volume(work, current, volume)
