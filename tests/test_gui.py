"""GUI translation: each row is backend text and exactly what the assistant gets instead.

The rules are written in the docstring of `nemo_mcp.gui`.
"""

from __future__ import annotations

import random

import pytest

from nemo_mcp.gui import strip_trailing_glitch, translate

REWRITES = [
    # Click: the purpose decides the tool, the content around it is kept.
    pytest.param(
        "Your video vid_0001 is ready. Click the Export button to download it.",
        "Your video vid_0001 is ready. Download it with export_video.",
        id="export-button",
    ),
    pytest.param("Click Export.", "Export it with export_video.", id="bare-export"),
    pytest.param("Hit the Export button.", "Export it with export_video.", id="hit"),
    pytest.param("Tap Download.", "Export it with export_video.", id="tap-download"),
    pytest.param(
        "You can click the Export button in the top right corner to download your video.",
        "You can download your video with export_video.",
        id="polite-and-location",
    ),
    pytest.param(
        "Your video is ready, click Export to download it, or keep editing.",
        "Your video is ready, download it with export_video, or keep editing.",
        id="lead-and-after-kept",
    ),
    pytest.param(
        "To download it, click the Export button.",
        "Download it with export_video.",
        id="purpose-in-lead",
    ),
    pytest.param(
        'Click on the "Export" button, then pick a folder.',
        "Export it with export_video, then pick a folder.",
        id="quoted-button-label",
    ),
    pytest.param(
        "Click 'Add music' to add background music.",
        "Add background music with send_edit.",
        id="edit-button-with-purpose",
    ),
    pytest.param("Click 'Add music'.", "Ask for 'Add music' with send_edit.", id="edit-label"),
    pytest.param(
        "Click the Credits tab to see your balance.",
        "See your balance with check_credits.",
        id="credits-tab",
    ),
    pytest.param(
        "Press play to watch it.",
        "See the track summary with get_timeline.",
        id="watch-is-not-a-tool",
    ),
    # Open: shows state, unless the purpose is something else.
    pytest.param(
        "Open the timeline panel to see your tracks.",
        "See your tracks with get_timeline.",
        id="open-timeline",
    ),
    pytest.param(
        "Open the Music library to pick a song.",
        "Pick a song with send_edit.",
        id="open-for-an-edit",
    ),
    pytest.param(
        "Use the timeline to adjust clip lengths.",
        "Adjust clip lengths with send_edit.",
        id="use-timeline",
    ),
    # Drag and drop: an edit, or an upload into a drop zone.
    pytest.param(
        "Drag the clip to reorder", "Describe the new order with send_edit", id="drag-reorder"
    ),
    pytest.param(
        "Drag the clip onto the second track.",
        "Move the clip onto the second track with send_edit.",
        id="drag-onto-track",
    ),
    pytest.param(
        "Simply drag the title to the end.",
        "Simply move the title to the end with send_edit.",
        id="drag-to-destination",
    ),
    pytest.param(
        "Drag and drop your photos here to upload them.",
        "Upload them with upload_media.",
        id="drop-zone-with-purpose",
    ),
    pytest.param("Drag your files here.", "Upload your files with upload_media.", id="drop-zone"),
    # Preview in the timeline, check the account.
    pytest.param(
        "Preview in timeline", "See the track summary with get_timeline", id="preview-in-timeline"
    ),
    pytest.param(
        "Done! You can preview it in the timeline.",
        "Done! You can see the track summary with get_timeline.",
        id="preview-after-content",
    ),
    pytest.param(
        "Preview it in the timeline to check the timing.",
        "Check the timing with get_timeline.",
        id="preview-with-look-purpose",
    ),
    pytest.param(
        "Check your account page for your remaining credits.",
        "See your balance with check_credits.",
        id="check-account",
    ),
    pytest.param(
        "Check your billing page to top up.",
        "See your balance with check_credits.",
        id="check-billing-top-up-is-not-a-tool",
    ),
    # Chinese.
    pytest.param("点击导出按钮下载视频", "用 export_video 下载视频", id="zh-export-button"),
    pytest.param(
        "视频已生成，点击导出按钮即可下载。",
        "视频已生成，用 export_video 下载。",
        id="zh-after-content",
    ),
    pytest.param("请点击下载按钮。", "请用 export_video 导出视频。", id="zh-polite-kept"),
    pytest.param(
        "点击「添加音乐」来添加背景音乐。", "用 send_edit 添加背景音乐。", id="zh-quoted-label"
    ),
    pytest.param("点击生成", "用 send_edit 要求生成", id="zh-bare-click"),
    pytest.param("打开时间线面板查看轨道。", "用 get_timeline 查看轨道。", id="zh-open-timeline"),
    pytest.param("打开设置页面", "用 get_timeline 查看轨道概要", id="zh-open-panel"),
    pytest.param("请前往账户页面查看余额。", "请用 check_credits 查看余额。", id="zh-account-page"),
    pytest.param("在时间线中预览效果。", "用 get_timeline 查看轨道概要。", id="zh-preview"),
    pytest.param("拖拽片段到第二条轨道。", "用 send_edit 把片段移到第二条轨道。", id="zh-drag-to"),
    pytest.param("拖拽片段来调整顺序。", "用 send_edit 调整顺序。", id="zh-drag-reorder"),
    pytest.param("将照片拖到这里上传。", "用 upload_media 上传照片。", id="zh-drop-zone"),
    # Whitespace and line breaks around a rewritten sentence are kept.
    pytest.param(
        "Added music.\nClick Export to download it.",
        "Added music.\nDownload it with export_video.",
        id="newline",
    ),
    pytest.param(
        "Hello!  \n\nClick Export to download it.  \n",
        "Hello!  \n\nDownload it with export_video.  \n",
        id="surrounding-whitespace",
    ),
]

UNCHANGED = [
    pytest.param("", id="empty"),
    pytest.param("   \n", id="whitespace"),
    pytest.param("Your video vid_0001 is ready.", id="plain"),
    pytest.param("Title 'Click here to export' added.", id="action-inside-quotes"),
    pytest.param('I added the title "Export Me".', id="quoted-title"),
    pytest.param("Open with a wide shot of the city.", id="open-without-gui-noun"),
    pytest.param("Use a warmer color grade.", id="use-without-gui-noun"),
    pytest.param("Check the result!", id="check-without-account"),
    pytest.param("Drop the intro.", id="drop-without-zone"),
    pytest.param("The Export button is in the top right.", id="export-button-without-verb"),
    pytest.param("I'll click into place the final shot.", id="verb-not-at-clause-start"),
    pytest.param("视频已导出。", id="zh-exported-is-content"),
    pytest.param("点数不足。", id="zh-dian-is-not-click"),
    pytest.param("按照你的要求添加了字幕。", id="zh-an-is-not-press"),
    pytest.param("打开你的邮箱", id="zh-open-without-gui-noun"),
    pytest.param("标题「点击导出」已添加。", id="zh-action-inside-quotes"),
]


@pytest.mark.parametrize(("text", "expected"), REWRITES)
def test_translate_rewrites_gui_actions(text: str, expected: str) -> None:
    assert translate(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_translate_keeps_text_without_gui_actions(text: str) -> None:
    assert translate(text) == text


def test_translate_keeps_the_quoted_title_and_rewrites_the_action() -> None:
    text = "Your title “Click Export” is set. Click Export to download."
    assert translate(text) == "Your title “Click Export” is set. Download with export_video."


def test_translate_never_raises_on_random_text() -> None:
    rng = random.Random(0)
    alphabet = list("click Export to 点击导出按钮 drag 拖拽 open panel '\"「」“”.,。，\n")
    for _ in range(300):
        size = rng.randint(0, 80)
        chars = [
            chr(rng.randint(0, 0x10FFFF)) if rng.random() < 0.3 else rng.choice(alphabet)
            for _ in range(size)
        ]
        text = "".join(chars)
        assert isinstance(translate(text), str)
        assert isinstance(strip_trailing_glitch(text), str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Title added. I encountered a temporary issue, please try again.",
            "Title added.",
            id="same-sentence-retry",
        ),
        pytest.param(
            "Done! I encountered a temporary issue. Please try again.",
            "Done!",
            id="separate-retry-sentence",
        ),
        pytest.param(
            "Title added.\n\nSorry, I ran into a temporary problem.  ",
            "Title added.",
            id="sorry-ran-into",
        ),
        pytest.param(
            "Music added. I encountered a temporary issue. I encountered a temporary issue.",
            "Music added.",
            id="repeated-glitch",
        ),
        pytest.param(
            "已添加字幕。我遇到了一个临时问题，请稍后再试。", "已添加字幕。", id="zh-glitch"
        ),
        pytest.param(
            "I encountered a temporary issue.", "I encountered a temporary issue.", id="only-glitch"
        ),
        pytest.param(
            "... I encountered a temporary issue.",
            "... I encountered a temporary issue.",
            id="nothing-but-punctuation-before",
        ),
        pytest.param(
            "I encountered a temporary issue. Please try again.",
            "I encountered a temporary issue. Please try again.",
            id="only-glitch-and-retry",
        ),
        pytest.param("Done. Please try again.", "Done. Please try again.", id="retry-alone-kept"),
        pytest.param(
            "Title added, but I encountered a temporary issue.",
            "Title added, but I encountered a temporary issue.",
            id="glitch-inside-a-sentence-kept",
        ),
        pytest.param(
            "I encountered a temporary issue. Title added.",
            "I encountered a temporary issue. Title added.",
            id="glitch-not-trailing",
        ),
        pytest.param("", "", id="empty"),
    ],
)
def test_strip_trailing_glitch(text: str, expected: str) -> None:
    assert strip_trailing_glitch(text) == expected
