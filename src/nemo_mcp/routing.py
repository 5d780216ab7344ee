"""The keyword router: the user's words decide which action a message is (pure, no I/O).

Every tool runs this first. Export, credits, state and upload requests are handled by the server
and never sent to the backend (a backend message costs credits); everything else is an edit.

Rules, applied in this order:

1. Normalise: Unicode NFKC (full-width letters become ASCII) and case-folding. An empty or
   whitespace-only message is EDIT (the caller rejects it; the router never raises).
2. Content is masked, so its words never count:
   - quotes: '...', "...", “...”, ‘...’, 「...」, 『...』, 《...》, «...». The double-quote family
     (" “ ” „) is interchangeable, so “Export Me" is a quote. A straight or curly single quote
     opens only where it is not glued to a (non-CJK) letter before it and closes only where
     no such letter follows, so the apostrophes in don't, it’s and users' are not quotes. An
     unclosed quote runs to the end of the message (the user was typing a title), except an
     unclosed single quote, which is taken as an apostrophe ('cause, rock 'n roll).
   - URLs, paths (a word with two slashes, or starting with / ~/ ./ C:\\) and file names
     (export.mp4): "clips/export/a.mp4" is not an export request.
3. The message is cut into segments at punctuation (. , ; : ! ? … — and the Chinese 。，；：！？、)
   and segments into clauses at "and", "then", "but", "instead", 然后, 接着, 并且, 但是, 而是, 还有.
4. Edit verbs win. If any clause opens with an edit verb (add, remove, make, trim, cut, ...,
   添加, 加, 删除, 修改, 改, 换, 剪, 生成, 制作, ... see _EDIT_EN and _EDIT_ZH), the message is
   EDIT: "add a status bar", "make the download button bigger", "add music, then export" (the
   edit has to happen first, and the backend gets the whole message). Polite openers and
   fillers (please, can you, could you, let's, just, ok, 请, 帮我, 麻烦, 给我, 我想, 先, ...) are
   skipped first. "make sure" is not an edit verb. A Chinese clause that opens with 把/将/给/为
   is an edit when an edit verb follows the object before any keyword (把标题改成导出).
5. Otherwise the first keyword that is not negated decides (the user's first request first;
   "upload these and export" is UPLOAD, the assistant asks for the export next):
   - EXPORT: export, download, "send/give me the video" (also my/the final/mp4/file/result),
     "get the video" (not "get the video to ..."), 导出, 下载.
   - CREDITS: credits, balance, "how much credit", 积分, 余额. Not film credits (end, opening,
     closing, final, roll(ing) credits, "credits roll") and not audio/colour/white balance nor
     "balance the audio" (a verb).
   - STATE: status, "show (me) (the) tracks/timeline" (also list/see/view/display), 状态,
     查看/看看/显示 + 时间线/轨道, and a segment that is only "timeline" or "tracks". The bare word
     "timeline" is not a keyword elsewhere: it appears in edits ("move it later in the timeline").
     "status bar" and 状态栏 are content.
   - UPLOAD: upload, 上传.
   English keywords count only as whole words: letters or digits glued to either side make a
   different word (exported, exporter, exports, downloadable, rebalance, statuses, uploaded), but
   hyphens, underscores and apostrophes separate words (re-export, export_video, export's) and so
   does Chinese text (帮我export). Chinese terms count wherever they appear (导出来, 导出去 are
   still exports), except: term + 的 is an attribute like English -ed (导出的视频太暗 = the
   exported video; 的话 "if" still counts); 导出 after 引 推 诱 疏 开 传 指 领 主 倡 教 辅
   向 报 督 训 劝 belongs to another word (引导出, 推导出); 积分 after 累 面 体 容 乘 沉 堆
   likewise (累积分).
   "remaining" alone (listed by one seed) is not a keyword: it is too common in edits.
6. Negation: a keyword is cancelled by don't, do not, not, no, never, without, won't, cancel,
   stop, skip, avoid, hold off (within the 3 words before it) or by 取消, 停止, 停掉, 中止,
   不要, 不用, 不必, 不需要, 不想, 不准, 别, 勿, 没(有), 甭, 无需, 先不, 暂不, 还不
   (within the 6 characters before it; a bare 不
   right before it; not 特别, 还不错, 没问题), in the same segment. An edit verb between the
   negation and the keyword ends its reach ("don't add music, just export", 不要加音乐直接导出
   are exports), and so do but, instead, rather, just, 而是, 但是, 只. "don't forget to
   export", 别忘了导出 and "why not export" are not negations. "can't" and "cannot" are
   complaints, not negations: "I can't download it" is EXPORT.
   A message whose keywords are all negated is EDIT ("don't export yet").
7. Nothing matched: EDIT.

Stop (CANCEL) is checked after rule 6 and before rule 7 (so "export, then stop" is still an
export, and a stop only ever stops what nothing else was asked beside): a segment that is only a
stop phrase, after polite openers, is CANCEL: "stop", "cancel", "abort", "never mind",
"forget it", optionally with "it", "that", "this", "everything", "all" or "the/this/my" + export,
render, generation, edit, request, message, upload, job, work, video, and optionally a job id
(the App's Stop button sends "stop edit-1a2b3c4d5e"); 取消, 停止, 停下(来), 停掉, 中止, 终止, 算了,
不要了, 别做了, 不做了 (+ 吧/了/一下, + 这个/当前的/正在进行的 + 生成/编辑/导出/渲染/上传/任务).
Being a whole segment is what makes it negation-aware and keeps edits edits: "don't stop the
music", "stop the music at 0:30", "不要取消" and "cancel the fade-out" are EDIT. What is stopped
(``cancel_target``): the export for export/render/导出/渲染, uploads for upload/上传, edits for
generation/edit/request/message/生成/编辑/请求, a job by its id, else all running and queued work.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from nemo_mcp.lazyre import lazy_compile

__all__ = [
    "CancelTarget",
    "Intent",
    "Route",
    "cancel_target",
    "explain_route",
    "quoted_spans",
    "route",
]


class Intent(StrEnum):
    """What a message asks for; EDIT messages go to the backend, the others never do."""

    EXPORT = "export"
    CREDITS = "credits"
    STATE = "state"
    UPLOAD = "upload"
    CANCEL = "cancel"
    EDIT = "edit"


@dataclass(frozen=True, slots=True)
class Route:
    """The intent and the words that decided it (for logs); keyword is None for the default."""

    intent: Intent
    keyword: str | None = None


# Scripts without spaces: their characters never glue to an English word.
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff"
)
_LW = rf"[^\W_{_CJK}]"  # a letter or digit that makes an English word longer


def _words(alternatives: str) -> str:
    return rf"(?<!{_LW})(?:{alternatives})(?!{_LW})"


_BRACKETS = {"「": "」", "『": "』", "《": "》", "«": "»"}
_DOUBLE = frozenset('"“”„‟＂')
_SINGLE = frozenset("'‘’‚‛")
_LETTER = lazy_compile(_LW)


def _is_word(text: str, i: int) -> bool:
    """Whether text[i] is a letter an apostrophe belongs to (not CJK: 标题'导出' is quoted)."""
    return 0 <= i < len(text) and _LETTER.match(text[i]) is not None


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quoted part of text, quotes included, by the rules above."""
    closers = [
        k
        for k, ch in enumerate(text)
        if ch in _SINGLE and k > 0 and not text[k - 1].isspace() and not _is_word(text, k + 1)
    ]
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        end = -1
        if ch in _BRACKETS:
            depth, j = 0, i
            while j < n and end < 0:
                if text[j] == ch:
                    depth += 1
                elif text[j] == _BRACKETS[ch]:
                    depth -= 1
                    end = j if depth == 0 else -1
                j += 1
            end = n - 1 if end < 0 else end
        elif ch in _DOUBLE:
            end = next((j for j in range(i + 1, n) if text[j] in _DOUBLE), n - 1)
        elif ch in _SINGLE and not _is_word(text, i - 1) and not text[i + 1 : i + 2].isspace():
            k = bisect.bisect_right(closers, i)
            end = closers[k] if k < len(closers) else -1
        if end < 0:
            i += 1
            continue
        spans.append((i, end + 1))
        i = end + 1
    return spans


_FILE_NAME = lazy_compile(r"[^\W_]\.[a-z0-9]{2,5}(?![a-z0-9])")
_ASCII_RUN = lazy_compile(r"[!-~]+")  # a run of printable ASCII: where URLs, paths, names live


def _mask_content(run: re.Match[str]) -> str:
    """Blank out a URL, path or file name (linear: plain string tests, no backtracking)."""
    word = run.group()
    slashes = word.count("/") + word.count("\\")
    if (
        "://" in word
        or word.startswith(("www.", "/", "\\", "~/", "./", "../"))
        or word[1:3] in (":/", ":\\")
        or slashes >= 2
        or _FILE_NAME.search(word)
    ):
        return " "
    return word


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "ʼ": "'"})
_SEGMENTS = lazy_compile(r"[.,;:!?…—–\n。，；：！？、]+")
_CLAUSES = lazy_compile(r"\s(?:and|then|but|instead)\s|(?=然后|接着|并且|但是|而是|还有)")

_POLITE = lazy_compile(
    r"^(?:(?:"
    + _words(
        r"please|pls|plz|kindly|can you|could you|would you|will you|can u|could u|"
        r"i want you to|i'd like you to|i need you to|i want to|i'd like to|i would like to|"
        r"i need to|i wanna|let's|lets|let us|let me|go ahead and|now|then|and|also|so|just|"
        r"ok|okay|alright|hey|hi|hello"
    )
    + r"|请你|请|帮我|帮忙|麻烦你|麻烦|能不能|能否|可不可以|你能|你可以|可以|给我|我想要|我想|我要"
    r"|我需要|让我们|让我|然后|接着|再|先|现在|直接|那就|那么|就|好的|好吧|嗯)[\s~～]*)*"
)
_EDIT_EN = (
    r"add|remove|delete|change|make(?! sure)|put|replace|trim|cut|set|insert|move|swap|sync|"
    r"lip-?sync|dub|animate|turn|convert|generate|create|crop|rotate|resize|speed|slow|mute|"
    r"unmute|fade|apply|use|lower|raise|increase|decrease|reduce|boost|adjust|split|merge|"
    r"combine|join|shorten|extend|lengthen|loop|reverse|rename|edit|fix|update|match|zoom|blur|"
    r"brighten|darken|overlay|caption|subtitle|translate|transcribe|shift|duplicate|mix|balance|"
    r"normalize|stabilize|sharpen|enhance|align|center|place|include|drop|flip|mirror|colou?r|grade"
)
_EDIT_ZH = (
    r"添加|加|增加|插入|删|去掉|去除|移|修改|改|更换|换|替换|剪|裁|生成|制作|调|放大|缩小|合成|合并|"
    r"拼接|配|同步|对口型|让|设置|设为|旋转|翻转|静音|淡入|淡出|应用|使用|转换|转成|变成|慢放"
)
_EDIT_VERB = lazy_compile(rf"{_words(_EDIT_EN)}|{_EDIT_ZH}")
_OBJECT_FIRST = lazy_compile(rf"(?:把|将|给|为)(?P<obj>[^\s]{{0,10}}?)(?:{_EDIT_ZH})")

_KEYWORDS = lazy_compile(
    "(?P<export>"
    + _words(
        r"export|download"
        r"|(?:send|give) (?:me|us) (?:the |my |our |that |this )?(?:final |finished |edited )?"
        r"(?:video|mp4|file|result)"
        r"|get (?:the |my |our |that |this )?(?:final |finished |edited )?(?:video|mp4)(?! to )"
    )
    + r"|(?<![引推诱疏开传指领主倡教辅向报督训劝])导出(?!的(?!话))|下载(?!的(?!话)))"
    "|(?P<credits>"
    + _words(
        r"(?<!end )(?<!closing )(?<!opening )(?<!final )(?<!film )(?<!movie )(?<!roll )"
        r"(?<!rolling )(?<!roll the )credits(?! roll)"
        r"|(?<!white )(?<!color )(?<!colour )(?<!audio )(?<!sound )(?<!stereo )(?<!volume )"
        r"balance(?! (?:the|this|that|these|those|it|them|audio|sound|volume|levels?|colou?rs?"
        r"|music|mix|between)(?!\w))"
        r"|how much credit"
    )
    + r"|(?<![累面体容乘沉堆])积分|余额)"
    "|(?P<state>"
    + _words(
        r"status(?! bar)"
        r"|(?:show|list|see|view|display)(?: me)?(?: the| my| all| all the)?"
        r" (?:tracks|timeline|track list)"
    )
    + r"|状态(?!栏)|(?:查看|看看|看一下|看下|显示|列出)(?:一下)?(?:当前的?|我的)?(?:时间线|轨道))"
    "|(?P<upload>" + _words("upload") + r"|上传(?!的(?!话)))"
)
_BARE_STATE = lazy_compile(r"(?:the |my )?(?:timeline|tracks|时间线|轨道)(?: please)?\s*")

_NEGATION = lazy_compile(
    "(?P<en>"
    + _words(
        r"don't|dont|do not|does not|doesn't|did not|didn't|(?<!why )not|no|never|without|"
        r"won't|wont|will not|shouldn't|should not|cancel|stop|skip|avoid|hold off(?: on)?"
    )
    + r")|(?:取消|停止|停掉|中止"
    r"|不要|不用|不必|不需要|不想|不可以|不准|不许|先不|暂不|还不(?!错)|没有|没(?!问题|事)"
    r"|(?<![特区分级识类告性个派差])别(?![的人])|勿|甭|无需|无须|不(?=\s*$))"
)
_GAP_WORD = lazy_compile(r"[\w'-]+")
_NEGATION_BREAK = lazy_compile(
    _words(r"but|instead|rather|just|forget|hesitate|fail") + "|而是|但|只|忘"
)
_LOOKBACK = 60

_JOB_ID = r"(?:edit|export|upload)-[0-9a-f]{6,32}"
_CANCEL = lazy_compile(
    r"(?:"
    + _words(r"stop|cancel|abort|halt|never ?mind|nvm|forget it|forget about it")
    + r"(?: (?:it|that|this|everything|all|(?:the |this |that |my |our |current )?"
    r"(?P<en>exports?|exporting|renders?|rendering|generations?|generating|edits?|editing"
    r"|requests?|messages?|uploads?|uploading|jobs?|work|videos?)))?"
    rf"(?: (?P<enid>{_JOB_ID}))?(?: please| now| thanks| thank you)?"
    r"|(?:取消|停止|停下来?|停掉|中止|终止|算了|不要了|别做了|不做了)(?:吧|了|一下|掉)?"
    r"(?:这个|那个|当前的?|正在进行的|正在)?(?P<zh>生成|编辑|请求|导出|渲染|上传|任务|视频|操作)?"
    rf"(?: ?(?P<zhid>{_JOB_ID}))?(?:吧|了)?)\s*"
)
_CANCEL_KINDS = {
    "export": "export", "render": "export", "导出": "export", "渲染": "export",
    "upload": "upload", "上传": "upload",
    "generat": "edit", "edit": "edit", "request": "edit", "message": "edit",
    "生成": "edit", "编辑": "edit", "请求": "edit",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CancelTarget:
    """What a stop phrase stops: one job by id, the jobs of one kind, or (both None) all."""

    kind: str | None = None
    job_id: str | None = None


def _cancel_match(segment: str) -> re.Match[str] | None:
    return _CANCEL.fullmatch(_skip_polite(segment))


def cancel_target(message: str) -> CancelTarget | None:
    """The target of a stop phrase in ``message``; None when no segment is one."""
    for segment in _SEGMENTS.split(_prepare(message)):
        if m := _cancel_match(segment.strip()):
            job_id = m.group("enid") or m.group("zhid")
            what = m.group("en") or m.group("zh") or ""
            kind = next((k for stem, k in _CANCEL_KINDS.items() if what.startswith(stem)), None)
            return CancelTarget(kind=kind, job_id=job_id)
    return None


def _prepare(message: str) -> str:
    """Normalise and blank out content (quotes, URLs, paths, file names) by the rules above."""
    text = unicodedata.normalize("NFKC", message).casefold()
    spans = quoted_spans(text)
    if spans:
        parts, last = [], 0
        for start, end in spans:
            parts.append(text[last:start])
            last = end
        text = " ".join([*parts, text[last:]])
    text = _ASCII_RUN.sub(_mask_content, text).translate(_APOSTROPHES)
    return " ".join(text.split())


def _skip_polite(clause: str) -> str:
    clause = clause.strip()
    m = _POLITE.match(clause)
    return clause[m.end() :] if m else clause


def _edit_opener(clause: str) -> str | None:
    """The edit verb a clause opens with (after polite words), if any."""
    body = _skip_polite(clause)
    if m := _EDIT_VERB.match(body):
        return m.group()
    if (m := _OBJECT_FIRST.match(body)) and not _KEYWORDS.search(m.group("obj")):
        return m.group()
    return None


def _negated(segment: str, start: int) -> bool:
    """Whether the nearest negation before position start governs the keyword there."""
    window = segment[max(0, start - _LOOKBACK) : start]
    negations = list(_NEGATION.finditer(window))
    if not negations:
        return False
    last = negations[-1]
    gap = window[last.end() :]
    near = len(_GAP_WORD.findall(gap)) <= 3 if last.group("en") else len(gap.strip()) <= 6
    return near and not (_EDIT_VERB.search(gap) or _NEGATION_BREAK.search(gap))


def explain_route(message: str) -> Route:
    """Route a message and say which words decided it (the rules are in the module docstring)."""
    segments = [s.strip() for s in _SEGMENTS.split(_prepare(message))]
    for segment in segments:
        for clause in _CLAUSES.split(segment):
            if verb := _edit_opener(clause):
                return Route(Intent.EDIT, verb)
    for segment in segments:
        if _BARE_STATE.fullmatch(_skip_polite(segment)):
            return Route(Intent.STATE, segment)
        for hit in _KEYWORDS.finditer(segment):
            if not _negated(segment, hit.start()):
                return Route(Intent(hit.lastgroup or Intent.EDIT), hit.group())
    for segment in segments:
        if _cancel_match(segment):
            return Route(Intent.CANCEL, segment)
    return Route(Intent.EDIT)


def route(message: str) -> Intent:
    """The intent of a user's message: EXPORT, CREDITS, STATE, UPLOAD, CANCEL or EDIT (the
    default)."""
    return explain_route(message).intent
