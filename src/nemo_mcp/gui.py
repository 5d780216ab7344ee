"""Rewrite the backend's GUI wording into what the assistant can do (pure, no I/O).

The backend answers as if the user sat in its web editor ("Click the Export button to download
it."). The assistant has tools, not buttons, so each GUI action becomes the tool that does it,
and everything else is kept byte for byte.

Rules:

- Text is handled sentence by sentence. A sentence without a GUI action is kept unchanged, so
  text without any comes back identical. At most one action per sentence is rewritten; what
  comes before it, and anything behind it after a comma or semicolon, is kept.
- An action is an imperative at the start of a sentence or clause (after , ; : — and, then, or
  anywhere before 请/点击/单击), optionally after you can, please, simply, just, 请, 您可以,
  只需, ... (kept as written). Words inside quotes are content: "Title 'Click here to export'
  added." has no action; a quoted button name is a label ("Click 'Add music'").
- The actions:
  - click, tap, press, hit, 点击, 单击, 点按, 轻点, 按下: always;
  - use, select, choose, open, go to, visit, switch to, 使用, 打开, 进入, 前往, 切换到: only when
    a GUI thing is named (button, menu, panel, page, tab, timeline, account, 按钮, 面板, ...);
  - drag, drag and drop, 拖拽, 拖动, 拖, 把/将 X 拖到 Y; "drop" only with here, into or onto;
  - preview ... in the timeline or player, 在时间线中预览; check ... account, billing, credits.
  Bare 点 and 按 are not actions (点数, 按照), nor is "Export button" without a verb.
- The tool comes from the purpose ("to ...", "and ...", 来/以/即可 ...), then from the target:
  export, download, 导出, 下载 -> export_video; credit, balance, account, billing, plan, top up,
  积分, 余额, 账户 -> check_credits; upload, import, 上传, 导入 -> upload_media. Otherwise a
  purpose that is a look (see, view, check, watch, 查看, 看, ...) -> get_timeline, any other
  purpose -> send_edit; with no purpose: a click on a timeline, track or preview target ->
  get_timeline, else by verb: open, preview -> get_timeline; check -> check_credits; click,
  drag -> send_edit; a drag into a drop zone ("here", 这里) -> upload_media.
- Wording: "<purpose> with <tool>" ("Download it with export_video."); a drag: "Move <what>
  <where> with send_edit", "Describe the new order with send_edit" for a reorder; a bare click:
  "Ask for <label> with send_edit"; else a fixed phrase per tool ("Export it with
  export_video", "See the track summary with get_timeline"). get_timeline and check_credits
  keep only a purpose that is a look ("to top up" is not something check_credits does).
  "To download it, click Export." reads its purpose from the lead. Chinese: "用 <tool> <purpose>"
  (用 export_video 下载视频) or a fixed phrase (用 get_timeline 查看轨道概要).

strip_trailing_glitch() is separate, for the final reply: "I encountered a temporary issue..."
(and a "please try again" after it) is dropped from the end when normal text comes before it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from operator import itemgetter

from nemo_mcp.routing import quoted_spans
from nemo_mcp.tool_names import ToolName

__all__ = ["strip_trailing_glitch", "translate"]

_EXPORT, _STATE, _EDIT = ToolName.EXPORT_VIDEO, ToolName.GET_TIMELINE, ToolName.SEND_EDIT
_CREDITS, _UPLOAD = ToolName.CHECK_CREDITS, ToolName.UPLOAD_MEDIA
_DEFAULT_EN = {
    _EXPORT: "export it",
    _STATE: "see the track summary",
    _EDIT: "ask for it",
    _CREDITS: "see your balance",
    _UPLOAD: "upload your files",
}
_DEFAULT_ZH = {
    _EXPORT: "导出视频",
    _STATE: "查看轨道概要",
    _EDIT: "提出修改",
    _CREDITS: "查看积分余额",
    _UPLOAD: "上传文件",
}
_CATEGORIES = [
    (_EXPORT, re.compile(r"(?i)\b(?:export|download)|导出|下载")),
    (
        _CREDITS,
        re.compile(
            r"(?i)\b(?:credit|balance|billing|account|plan\b|subscription|top.?up)"
            r"|积分|余额|账户|账号|账单|充值|会员"
        ),
    ),
    (_UPLOAD, re.compile(r"(?i)\b(?:upload|import)|上传|导入")),
]
_LOOK = re.compile(
    r"(?i)(?:see|view|check|review|look|inspect|find|confirm|verify|watch|play|preview)\b"
    r"|查看|看|预览|确认|检查"
)
_SEE = re.compile(r"(?i)(?:see|view|check|review|inspect|find|confirm|verify)\b|查看|确认|检查")
_STATE_TARGET = re.compile(r"(?i)\b(?:timeline|tracks?|preview|layers?)\b|时间线|时间轴|轨道|预览")
_UI_NOUN = re.compile(
    r"(?i)\b(?:button|icon|menu|dropdown|tab|panel|page|window|sidebar|timeline|editor|library"
    r"|settings|dashboard|toolbar|section|drawer|dialog|inspector|player|screen|account|billing"
    r"|link|option)s?\b|按钮|图标|选项|标签|面板|页面|菜单|窗口|区域|链接|时间线|时间轴|轨道|设置|账户|账号|账单"
)
_NEAR = r"(?=.{0,200}?\b"  # a look-ahead within the same sentence
_EN_ACTION = re.compile(
    r"(?i)(?P<polite>(?:(?:you can|you may|you could|please|simply|just|now|then|feel free to"
    r"|go ahead and)\s+)*)"
    r"(?:(?P<click>(?:click|tap)(?:\s+on)?|press|hit)"
    r"|(?P<open>use|select|choose|open(?:\s+up)?|go\s+to|head\s+(?:over\s+)?to|navigate\s+to"
    r"|switch\s+to|visit)"
    rf"|(?P<drag>drag(?:\s+(?:and|&|n)\s+drop)?|drop{_NEAR}(?:here|into|onto)\b))"
    rf"|(?P<preview>preview{_NEAR}(?:in|on)\s+(?:the\s+)?(?:timeline|player)\b))"
    rf"|(?P<check>check{_NEAR}(?:account|billing|credits?|balance|plan)\b)))\b\s*"
)
_ZH_ACTION = re.compile(
    r"(?P<polite>(?:您可以|你可以|可以|请|只需要?|只要|直接|然后|再)*)"
    r"(?:(?P<click>点击|单击|点按|轻点|点一下|按下)"
    r"|(?P<open>使用|打开|进入|前往|切换到)"
    r"|(?P<drag>拖拽|拖动|拖放|拖)"
    r"|[把将](?P<obj>[^，。！？；]{1,12}?)(?:拖拽|拖动|拖放|拖)(?=[到至进入])"
    r"|(?P<preview>(?:在|于)(?:时间线|时间轴|播放器)(?:面板)?[中上里]?预览|预览(?=时间线|时间轴)))"
)
_CLAUSE_START = re.compile(r"[,;:—–]\s*|\s(?:and|then)\s+|[，；：、]|(?=请|点击|单击)")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|[。！？]+|\n+")
_PIECE = re.compile(r"(\s*)(.*?)([.!?。！？…\s]*)", re.DOTALL)
_CUT = re.compile(r"[,;，；]")
_EN_PURPOSE = re.compile(r"(?i)\s+(?:to|in order to|so (?:that )?you can|and)\s+")
_LEAD_PURPOSE = re.compile(r"(?i)(?:in order )?to\s+(?P<purpose>[^,]+),\s*")
_DESTINATION = re.compile(r"(?i)(?:the|a|an|your|its|this|that|another|position|track|slot|\d)\b")
_DROP_ZONE = re.compile(r"(?i)\b(?:here|upload)\b|这里|此处|上传")
_DROP_WHERE = re.compile(r"(?i)\s+(?:here|into|onto|in|to)\b.*$", re.DOTALL)
_REORDER = re.compile(r"(?i)(?:reorder|rearrange)\b|调整顺序|排序")
_LABEL_NOISE = re.compile(
    r"(?i)^(?:the|your)\s+|\s+(?:button|icon|tab|option|link)\b.*$|\s+(?:in|at|on)\s+the\s+.*$"
)
_ZH_TARGET = re.compile(
    r"[「『“\"'][^」』”\"']*[」』”\"'](?:按钮|图标|选项)?"
    r"|[^，。！？；]{0,12}?(?:按钮|图标|选项|标签页?|面板|页面|菜单|窗口|区域|链接|栏)"
    r"|导出|下载|上传|预览|保存|这里|此处"
)
_ZH_SEP = re.compile(r"^(?:来|以便|以|即可|就能|就可以|可以|并)")
_ZH_TAIL = re.compile(r"(?:即可|就行了?|就好|吧)$")
_ZH_TO = re.compile(r"[到至进入]")
_ZH_DRAG_PURPOSE = re.compile(r"来|以便|以")
_ZH_BUTTON = re.compile(r"(?:按钮|图标|选项)$")

Spans = list[tuple[int, int]]


def _inside(pos: int, spans: Spans) -> bool:
    """Whether pos is inside one of the (sorted, disjoint) quoted spans."""
    k = bisect.bisect_right(spans, pos, key=itemgetter(0)) - 1
    return k >= 0 and pos < spans[k][1]


def _pieces(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence, its end punctuation included; never cut inside quotes."""
    spans, start = quoted_spans(text), 0
    for m in _SENTENCE_END.finditer(text):
        if not _inside(m.start(), spans):
            yield start, m.end()
            start = m.end()
    if start < len(text):
        yield start, len(text)


def _tool(purpose: str, target: str, by_verb: ToolName, *, look_at_target: bool) -> ToolName:
    """Which tool does what the GUI action was for (the rules in the module docstring)."""
    for text in (purpose, target):
        for tool, pattern in _CATEGORIES:
            if pattern.search(text):
                return tool
    if purpose:
        return _STATE if _LOOK.match(purpose) else _EDIT
    if look_at_target and by_verb == _EDIT and _STATE_TARGET.search(target):
        return _STATE
    return by_verb


def _keep(purpose: str, tool: ToolName) -> bool:
    return bool(purpose) and (tool not in (_STATE, _CREDITS) or _SEE.match(purpose) is not None)


def _english(m: re.Match[str], rest: str, lead_purpose: str) -> str | None:
    """The words that replace an English action; rest is what follows its verb."""
    spans = quoted_spans(rest)
    cut = next((c.start() for c in _CUT.finditer(rest) if not _inside(c.start(), spans)), len(rest))
    action, after = rest[:cut], rest[cut:]
    target, purpose = action, lead_purpose
    for p in _EN_PURPOSE.finditer(action):
        if not _inside(p.start(), spans) and not _DESTINATION.match(action, p.end()):
            target, purpose = action[: p.start()], action[p.end() :]
            break
    if not target.strip() or (m.group("open") and not _UI_NOUN.search(target)):
        return None
    by_verb = (
        _CREDITS if m.group("check") else _STATE if m.group("open") or m.group("preview") else _EDIT
    )
    tool = _tool(purpose, target, by_verb, look_at_target=not m.group("drag"))
    phrase = ""
    if m.group("drag") and _DROP_ZONE.search(action):
        tool, what = _UPLOAD, _DROP_WHERE.sub("", target)
        phrase = f"upload {what}" if what and not purpose else ""
    elif m.group("drag") and tool == _EDIT and not purpose:
        phrase = f"move {action}"
    elif m.group("drag") and tool == _EDIT and _REORDER.match(purpose):
        phrase = "describe the new order"
    elif tool == _EDIT and not purpose:
        quoted = [rest[a:b] for a, b in spans if a < len(target)]
        label = quoted[0] if quoted else _LABEL_NOISE.sub("", target).strip()
        phrase = f"ask for {label}" if label else ""
    phrase = phrase or (purpose if _keep(purpose, tool) else _DEFAULT_EN[tool])
    return f"{m.group('polite')}{phrase} with {tool}{after}"


def _strip_tail(text: str) -> str:
    return _ZH_TAIL.sub("", text)


def _chinese(m: re.Match[str], rest: str) -> str | None:
    """The words that replace a Chinese action; rest is what follows its verb."""
    cut = _CUT.search(rest)
    action, after = (rest[: cut.start()], rest[cut.start() :]) if cut else (rest, "")
    tool, phrase = _EDIT, ""
    if m.group("preview"):
        tool = _STATE
    elif m.group("drag") or m.group("obj"):
        if to := _ZH_TO.search(action):
            what, where = m.group("obj") or action[: to.start()], _strip_tail(action[to.end() :])
            if _DROP_ZONE.search(where):
                tool, phrase = _UPLOAD, f"上传{what}"
            else:
                phrase = f"把{what}移到{where}" if what else f"移到{where}"
        else:
            sep = _ZH_DRAG_PURPOSE.search(action)
            purpose = _strip_tail(action[sep.end() :]) if sep else ""
            reorder = _REORDER.search(purpose)
            phrase = "调整顺序" if reorder else purpose or f"移动{_strip_tail(action)}"
    else:
        target = _ZH_TARGET.match(action)
        label = target.group() if target else _strip_tail(action)
        if m.group("open") and not _UI_NOUN.search(label):
            return None
        purpose = _strip_tail(_ZH_SEP.sub("", action[target.end() :], count=1)) if target else ""
        tool = _tool(purpose, label, _STATE if m.group("open") else _EDIT, look_at_target=True)
        if _keep(purpose, tool):
            phrase = purpose
        elif tool == _EDIT and label:
            phrase = "要求" + _ZH_BUTTON.sub("", label)
    return f"{m.group('polite')}用 {tool} {phrase or _DEFAULT_ZH[tool]}{after}"


def _sentence(piece: str, spans: Spans) -> str:
    """One sentence with its first GUI action rewritten, or the sentence itself."""
    parts = _PIECE.fullmatch(piece)
    head, body, tail = parts.groups() if parts else ("", piece, "")
    offset = len(head)
    local = [(a - offset, b - offset) for a, b in spans]
    starts = [0, *(c.end() for c in _CLAUSE_START.finditer(body))]
    for pos in starts:
        if _inside(pos, local):
            continue
        if en := _EN_ACTION.match(body, pos):
            lead = body[:pos]
            lead_purpose = _LEAD_PURPOSE.fullmatch(lead)
            new = _english(en, body[en.end() :], lead_purpose["purpose"] if lead_purpose else "")
            lead = "" if lead_purpose else lead
            if new is not None:
                new = new if lead else new[:1].upper() + new[1:]
                return f"{head}{lead}{new}{tail}"
        if zh := _ZH_ACTION.match(body, pos):
            new = _chinese(zh, body[zh.end() :])
            if new is not None:
                return f"{head}{body[:pos]}{new}{tail}"
    return piece


def translate(text: str) -> str:
    """Replace the GUI actions in backend text with the tool that does each; keep the rest."""
    spans = quoted_spans(text)
    out = []
    for start, end in _pieces(text):
        first = bisect.bisect_left(spans, start, key=itemgetter(0))
        last = bisect.bisect_left(spans, end, key=itemgetter(0))
        out.append(
            _sentence(text[start:end], [(a - start, b - start) for a, b in spans[first:last]])
        )
    return "".join(out)


_GLITCH = re.compile(
    r"(?i)(?:(?:sorry|unfortunately|oops)[,!.]?\s*)?(?:i|we)\s+(?:encountered|ran\s+into|hit|had"
    r"|experienced)\s+(?:a\s+|an\s+|some\s+)?temporary\s+(?:issue|problem|error|glitch)s?\b.*"
    r"|(?:抱歉[，,]?\s*)?我?(?:遇到|出现)了?(?:一个|一些|一点)?临时(?:性的?)?(?:问题|错误|故障).*",
    re.DOTALL,
)
_WORD = re.compile(r"\w")
_TRY_AGAIN = re.compile(r"(?i)(?:please\s+)?try\s+again(?:\s+later)?\W*|请?稍后再试\W*")


def strip_trailing_glitch(text: str) -> str:
    """Drop trailing "I encountered a temporary issue" sentences when other text comes first."""
    pieces = list(_pieces(text))
    cut, glitch = len(pieces), False
    while cut > 0:
        sentence = text[slice(*pieces[cut - 1])].strip()
        if _GLITCH.fullmatch(sentence):
            glitch = True
        elif sentence and not _TRY_AGAIN.fullmatch(sentence):
            break
        cut -= 1
    kept = text[: pieces[cut - 1][1]] if cut else ""
    return kept.rstrip() if glitch and _WORD.search(kept) else text
