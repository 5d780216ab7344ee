"""The keyword router: each row is a phrasing a user might send, and where it must go.

The rules themselves are written in the docstring of `nemo_mcp.routing`.
"""

from __future__ import annotations

import random

import pytest

from nemo_mcp.routing import (
    CancelTarget,
    Intent,
    Route,
    cancel_target,
    explain_route,
    quoted_spans,
    route,
)
from tests.cpu_cost import lowest_ratio

EXPORT, CREDITS, STATE, UPLOAD, EDIT = (
    Intent.EXPORT,
    Intent.CREDITS,
    Intent.STATE,
    Intent.UPLOAD,
    Intent.EDIT,
)

ROUTES = [
    # Every keyword, both languages.
    pytest.param("export", EXPORT, id="export"),
    pytest.param("download it", EXPORT, id="download"),
    pytest.param("send me the video", EXPORT, id="send-me-the-video"),
    pytest.param("Send me my final video", EXPORT, id="send-me-my-final-video"),
    pytest.param("get video", EXPORT, id="get-video"),
    pytest.param("can I get the video?", EXPORT, id="get-the-video"),
    pytest.param("导出", EXPORT, id="zh-export"),
    pytest.param("下载视频", EXPORT, id="zh-download"),
    pytest.param("credits?", CREDITS, id="credits"),
    pytest.param("what's my balance", CREDITS, id="balance"),
    pytest.param("how many credits do I have left", CREDITS, id="how-many-credits"),
    pytest.param("remaining credits", CREDITS, id="remaining-credits"),
    pytest.param("how much credit is left", CREDITS, id="how-much-credit"),
    pytest.param("我的积分还有多少", CREDITS, id="zh-credits"),
    pytest.param("余额", CREDITS, id="zh-balance"),
    pytest.param("status", STATE, id="status"),
    pytest.param("show tracks", STATE, id="show-tracks"),
    pytest.param("show me the tracks", STATE, id="show-me-the-tracks"),
    pytest.param("can you show me the timeline", STATE, id="show-me-the-timeline"),
    pytest.param("timeline?", STATE, id="bare-timeline"),
    pytest.param("状态", STATE, id="zh-status"),
    pytest.param("查看时间线", STATE, id="zh-view-timeline"),
    pytest.param("upload", UPLOAD, id="upload"),
    pytest.param("I want to upload more photos", UPLOAD, id="want-to-upload"),
    pytest.param("上传照片", UPLOAD, id="zh-upload"),
    pytest.param("make the intro punchier", EDIT, id="plain-edit"),
    pytest.param("给视频配上轻音乐", EDIT, id="zh-plain-edit"),
    # Case and width.
    pytest.param("EXPORT!", EXPORT, id="upper-case"),
    pytest.param("Status Please", STATE, id="title-case"),
    pytest.param("ＥＸＰＯＲＴ", EXPORT, id="full-width"),
    # Words inside words, and what separates words.
    pytest.param("the exported look is great", EDIT, id="exported"),
    pytest.param("exporter settings", EDIT, id="exporter"),
    pytest.param("exports", EDIT, id="exports"),
    pytest.param("a downloadable version", EDIT, id="downloadable"),
    pytest.param("rebalance", EDIT, id="rebalance"),
    pytest.param("statuses", EDIT, id="statuses"),
    pytest.param("it's uploaded?", EDIT, id="uploaded"),
    pytest.param("re-export", EXPORT, id="hyphen-separates"),
    pytest.param("export_video", EXPORT, id="underscore-separates"),
    pytest.param("帮我export一下", EXPORT, id="english-in-chinese"),
    pytest.param("导出来", EXPORT, id="zh-export-compound"),
    pytest.param("导出的视频太暗了", EDIT, id="zh-exported-attribute"),
    pytest.param("上传的图片太暗", EDIT, id="zh-uploaded-attribute"),
    pytest.param("能下载的话就好了", EXPORT, id="zh-de-hua-is-if"),
    pytest.param("引导出一个新结尾", EDIT, id="zh-yindao-is-another-word"),
    pytest.param("累积分数太高", EDIT, id="zh-leiji-is-another-word"),
    # Film credits, audio balance, status bars: content, not commands.
    pytest.param("roll the credits at the end", EDIT, id="film-credits"),
    pytest.param("the credits roll too fast", EDIT, id="credits-roll"),
    pytest.param("white balance looks off", EDIT, id="white-balance"),
    pytest.param("the status bar is too big", EDIT, id="status-bar"),
    pytest.param("状态栏太大了", EDIT, id="zh-status-bar"),
    pytest.param("the timeline looks wrong", EDIT, id="timeline-in-a-sentence"),
    pytest.param("get the video to fade out", EDIT, id="get-the-video-to"),
    # Quotes of every style are content.
    pytest.param("title 'Export Me' please", EDIT, id="straight-single-quotes"),
    pytest.param('title "Export Me" please', EDIT, id="straight-double-quotes"),
    pytest.param("title “Export Me” please", EDIT, id="curly-double-quotes"),
    pytest.param("title ‘Export Me’ please", EDIT, id="curly-single-quotes"),
    pytest.param("标题「导出」", EDIT, id="corner-brackets"),
    pytest.param("『导出』这个标题", EDIT, id="white-corner-brackets"),
    pytest.param("《导出》", EDIT, id="book-title-marks"),
    pytest.param("标题'导出'", EDIT, id="ascii-quotes-in-chinese"),
    pytest.param("title «Export»", EDIT, id="guillemets"),
    pytest.param('title “Export Me" please', EDIT, id="mixed-double-quotes"),
    pytest.param("title “Export Me", EDIT, id="unclosed-quote-runs-to-end"),
    pytest.param("title 'Summer' and export", EXPORT, id="keyword-after-quote"),
    # Contractions and apostrophes are not quotes.
    pytest.param("it's time to export", EXPORT, id="its"),
    pytest.param("it’s ready — export it", EXPORT, id="curly-apostrophe"),
    pytest.param("the users' clips: export them", EXPORT, id="plural-possessive"),
    pytest.param("'cause I want to export", EXPORT, id="unclosed-apostrophe"),
    pytest.param("export the user's video", EXPORT, id="possessive"),
    # Edit-verb openers win.
    pytest.param("add the title 'Export Me'", EDIT, id="design-example"),
    pytest.param("add a status bar", EDIT, id="add-status-bar"),
    pytest.param("make the download button bigger", EDIT, id="make-download-button"),
    pytest.param("remove the credits screen", EDIT, id="remove-credits"),
    pytest.param("replace the upload icon", EDIT, id="replace-upload"),
    pytest.param("balance the audio please", EDIT, id="balance-as-verb"),
    pytest.param("add music, then export", EDIT, id="edit-then-export"),
    pytest.param("export and then add a title", EDIT, id="export-then-edit"),
    pytest.param("Thanks! Add a status bar.", EDIT, id="edit-in-second-sentence"),
    pytest.param("make sure to export", EXPORT, id="make-sure-is-not-an-edit"),
    pytest.param("帮我加个状态栏", EDIT, id="zh-add"),
    pytest.param("删除导出按钮", EDIT, id="zh-delete"),
    pytest.param("修改状态文字", EDIT, id="zh-modify"),
    pytest.param("先加音乐再导出", EDIT, id="zh-edit-then-export"),
    pytest.param("把标题改成导出", EDIT, id="zh-ba-then-verb"),
    pytest.param("把视频导出", EXPORT, id="zh-ba-keyword"),
    # Polite openers are skipped.
    pytest.param("please export", EXPORT, id="please"),
    pytest.param("can you add a status bar", EDIT, id="can-you-edit"),
    pytest.param("could you please make the download button bigger", EDIT, id="could-you-please"),
    pytest.param("I'd like to download it", EXPORT, id="id-like-to"),
    pytest.param("let me see the tracks", STATE, id="let-me"),
    pytest.param("请上传", UPLOAD, id="zh-please"),
    pytest.param("帮我导出视频", EXPORT, id="zh-help-me"),
    pytest.param("麻烦帮我查一下积分", CREDITS, id="zh-bother"),
    # Negations, English and Chinese.
    pytest.param("don't export yet", EDIT, id="dont"),
    pytest.param("don’t export yet", EDIT, id="dont-curly"),
    pytest.param("do not download", EDIT, id="do-not"),
    pytest.param("no export", EDIT, id="no"),
    pytest.param("not yet export", EDIT, id="not-yet"),
    pytest.param("never download", EDIT, id="never"),
    pytest.param("I don't want to export yet", EDIT, id="dont-want-to"),
    pytest.param("no need to upload", EDIT, id="no-need"),
    pytest.param("skip the export", EDIT, id="skip"),
    pytest.param("先不要导出", EDIT, id="zh-not-yet"),
    pytest.param("别导出", EDIT, id="zh-bie"),
    pytest.param("不要导出", EDIT, id="zh-buyao"),
    pytest.param("不要把这个视频导出", EDIT, id="zh-ba-inside-negation"),
    pytest.param("今天不上传", EDIT, id="zh-bare-bu"),
    pytest.param("不要export", EDIT, id="zh-negates-english"),
    pytest.param("don't add music, just export", EXPORT, id="negation-governs-add"),
    pytest.param("don't add music and export", EXPORT, id="edit-verb-ends-negation"),
    pytest.param("No, export it", EXPORT, id="no-comma"),
    pytest.param("Don't export yet, just show me the tracks", STATE, id="negated-then-state"),
    pytest.param("please don't change anything, export", EXPORT, id="polite-negated-edit"),
    pytest.param("不要加音乐直接导出", EXPORT, id="zh-edit-verb-ends-negation"),
    pytest.param("don't forget to export", EXPORT, id="dont-forget"),
    pytest.param("别忘了导出", EXPORT, id="zh-dont-forget"),
    pytest.param("why not export?", EXPORT, id="why-not"),
    pytest.param("I can't download the video", EXPORT, id="cant-is-a-complaint"),
    pytest.param("还不错，导出吧", EXPORT, id="zh-not-bad"),
    pytest.param("特别好导出吧", EXPORT, id="zh-tebie-is-not-bie"),
    # Mixed: the first request wins.
    pytest.param("upload these and export", UPLOAD, id="upload-then-export"),
    pytest.param("export it, then show me the credits", EXPORT, id="export-then-credits"),
    pytest.param("what's the status of my export", STATE, id="status-of-export"),
    pytest.param("check my balance and export", CREDITS, id="credits-then-export"),
    pytest.param("把这些上传然后导出", UPLOAD, id="zh-upload-then-export"),
    pytest.param("don't export, upload", UPLOAD, id="negated-first-skipped"),
    # URLs, paths and file names are content.
    pytest.param("https://example.com/export/video.mp4", EDIT, id="url"),
    pytest.param("here it is: clips/export/a.mp4", EDIT, id="path"),
    pytest.param("export.mp4 is too dark", EDIT, id="file-name"),
    pytest.param("上传 ~/Videos/a.mp4", UPLOAD, id="zh-keyword-beside-path"),
    # Empty and odd input.
    pytest.param("", EDIT, id="empty"),
    pytest.param("   \n\t ", EDIT, id="whitespace"),
    pytest.param("🎬 export 🎉", EXPORT, id="emoji"),
    pytest.param("...!!!", EDIT, id="punctuation-only"),
    pytest.param("'", EDIT, id="lone-quote"),
    pytest.param("「", EDIT, id="lone-bracket"),
    pytest.param("تصدير export", EXPORT, id="rtl-text"),
    pytest.param("e\u0301xport", EDIT, id="combining-accent"),
]


@pytest.mark.parametrize(("message", "intent"), ROUTES)
def test_route(message: str, intent: Intent) -> None:
    assert route(message) is intent


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param("Send me the video", Route(EXPORT, "send me the video"), id="phrase"),
        pytest.param("don't add music, just export", Route(EXPORT, "export"), id="after-negation"),
        pytest.param("please add a status bar", Route(EDIT, "add"), id="edit-verb"),
        pytest.param("给视频加个状态显示", Route(EDIT, "给视频加"), id="zh-object-first"),
        pytest.param("the exported look", Route(EDIT, None), id="default"),
    ],
)
def test_explain_route_names_the_deciding_words(message: str, expected: Route) -> None:
    assert explain_route(message) == expected


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        pytest.param("add 'Export Me' now", ["'Export Me'"], id="single"),
        pytest.param("don't stop, it's the users' day", [], id="apostrophes"),
        pytest.param("a “b” c 「d」 e 『f』", ["“b”", "「d」", "『f』"], id="several"),
        pytest.param("「a「b」c」 d", ["「a「b」c」"], id="nested-brackets"),
        pytest.param('say "hi', ['"hi'], id="unclosed-double-to-end"),
        pytest.param("rock 'n roll", [], id="unclosed-single-is-apostrophe"),
    ],
)
def test_quoted_spans(text: str, quoted: list[str]) -> None:
    assert [text[start:end] for start, end in quoted_spans(text)] == quoted


def test_route_never_raises_on_random_text() -> None:
    rng = random.Random(0)
    alphabet = list("export 导出不要别'\"“”‘’「」『』《》 don't, .!?/\\:") + ["\u200f", "\ud800"]
    for _ in range(500):
        size = rng.randint(0, 80)
        chars = [
            chr(rng.randint(0, 0x10FFFF)) if rng.random() < 0.5 else rng.choice(alphabet)
            for _ in range(size)
        ]
        assert isinstance(route("".join(chars)), Intent)


HOSTILE = {
    "no-spaces": lambda n: "a" * n,
    "unclosed-quotes": lambda n: "'a " * (n // 3),
    "cjk-quotes": lambda n: "「" * n,
    "sentences": lambda n: "a." * (n // 2),
    "slashes": lambda n: "x/" * (n // 2),
    "keywords": lambda n: "don't export " * (n // 13) + ", upload",
}
SCALE = 8
ATTEMPTS = 3


@pytest.mark.parametrize("shape", list(HOSTILE))
def test_route_handles_long_hostile_text(shape: str) -> None:
    """No spaces, unclosed quotes, many keywords: eight times the text takes about eight times
    the CPU (x5 to x8 measured), under x16 always; a quadratic scan takes x64 once it dominates.
    Even a regex re-scanning the rest of the text from each position in C (1.4 ns a step here,
    about the cheapest quadratic there is) measured x16 to x55 on these shapes. At 200,000
    characters that scan would only have made the test slow (14 s a shape), not failed it; these
    sizes fail it, in a third of the CPU."""
    small, large = HOSTILE[shape](1_000), HOSTILE[shape](SCALE * 1_000)
    assert route(large) is (UPLOAD if shape == "keywords" else EDIT)  # also warms the caches
    ratio = lowest_ratio(route, small, large, below=2 * SCALE, runs=3, attempts=ATTEMPTS)
    if ratio >= 2 * SCALE:
        pytest.fail(f"{SCALE}x the text took x{ratio:.1f} the CPU at best")


# -- Stop: a segment that is only a stop phrase (rules in the routing docstring) ----------------
CANCEL = Intent.CANCEL
STOPS = [
    pytest.param("stop", CancelTarget(), id="stop"),
    pytest.param("Cancel!", CancelTarget(), id="cancel"),
    pytest.param("never mind", CancelTarget(), id="never-mind"),
    pytest.param("nevermind, thanks", CancelTarget(), id="nevermind"),
    pytest.param("please stop", CancelTarget(), id="polite"),
    pytest.param("ok, cancel that", CancelTarget(), id="cancel-that"),
    pytest.param("forget it", CancelTarget(), id="forget-it"),
    pytest.param("cancel the export", CancelTarget(kind="export"), id="the-export"),
    pytest.param("stop rendering please", CancelTarget(kind="export"), id="rendering"),
    pytest.param("stop the generation now", CancelTarget(kind="edit"), id="generation"),
    pytest.param("cancel the upload", CancelTarget(kind="upload"), id="upload"),
    pytest.param("stop edit-1a2b3c4d5e", CancelTarget(job_id="edit-1a2b3c4d5e"), id="job-id"),
    pytest.param("取消", CancelTarget(), id="zh-cancel"),
    pytest.param("停止", CancelTarget(), id="zh-stop"),
    pytest.param("算了吧", CancelTarget(), id="zh-never-mind"),
    pytest.param("请停止生成", CancelTarget(kind="edit"), id="zh-stop-generation"),
    pytest.param("取消导出", CancelTarget(kind="export"), id="zh-cancel-export"),
    pytest.param("ＳＴＯＰ", CancelTarget(), id="full-width"),
]


@pytest.mark.parametrize(("message", "target"), STOPS)
def test_stop_phrases_cancel(message: str, target: CancelTarget) -> None:
    assert route(message) is CANCEL
    assert cancel_target(message) == target


@pytest.mark.parametrize(
    "message",
    [
        "don't stop the music",
        "stop the music at 0:30",
        "cancel the fade-out",
        "never mind the music, make it brighter",
        "不要取消",
        "别停止音乐",
        "add a stop sign at the start",
        "stop it. add music",  # an edit verb opens a clause: the backend gets the whole message
        "the 'stop' title",
    ],
)
def test_stop_words_inside_edits_are_edits(message: str) -> None:
    assert route(message) is EDIT


def test_a_negated_stop_never_cancels_and_the_keyword_it_negated_stays_negated() -> None:
    assert route("don't cancel the export") is EDIT
    assert route("cancel export") is CANCEL
    assert route("export, then stop") is EXPORT
    assert cancel_target("export the video") is None
