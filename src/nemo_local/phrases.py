"""What the local agent says, in English and Chinese. Some lines use the cloud's GUI wording
("Click the Export button", "Preview it in the timeline") on purpose: clients must translate it.
"""

from __future__ import annotations

from typing import Any

_EN = {
    "working": "Working on your video",
    "slideshow": "I turned your {count} photos into a {seconds}-second video{transition}.",
    "slideshow_one": "I turned your photo into a {seconds}-second video.",
    "with_transition": " with {name} transitions",
    "animate": "I animated {name} into a {seconds}-second clip with a slow {motion}.",
    "dub": "I replaced the audio of {video} with {audio}.",
    "dub_note": "Note: the local backend cannot re-sync lip movements, so the lips are not "
    "re-synthesized to match the new audio.",
    "talking": "I made a {seconds}-second clip of {image} with {audio} as its voice.",
    "talking_note": "Note: the local backend cannot animate faces, so the photo gets a slow zoom "
    "and the face does not move.",
    "duration": "The video is now {seconds} seconds long.",
    "duration_each": "Each segment now lasts {seconds} seconds.",
    "title": "Added the title '{text}' ({start}-{end}s).",
    "caption": "Added the caption '{text}' over the whole video.",
    "music": "Added {name} as background music at {percent}%.",
    "volume": "The music volume is now {percent}%.",
    "removed_title": "Removed the title.",
    "removed_caption": "Removed the caption.",
    "removed_bgm": "Removed the background music.",
    "nothing_title": "There is no title to remove.",
    "nothing_caption": "There is no caption to remove.",
    "nothing_bgm": "There is no background music to remove.",
    "need_images": "Upload some photos first (jpg, png, gif or webp), then ask again.",
    "need_video_audio": "To replace a video's audio, upload the video and the new audio first.",
    "need_image_audio": "For a talking photo, upload a portrait photo and a voice recording first.",
    "need_audio": "Upload an audio file (mp3, wav, m4a or aac) first, then ask for music.",
    "need_video": "There is no video yet: turn your photos into a video first.",
    "need_text": "What should the {what} say? Put the words in quotes, like 'Summer'.",
    "no_font": "No font on this computer can draw {chars}, so they would show as empty boxes: "
    "install a font for that script (for example Noto Sans CJK) before exporting.",
    "ready": "Your video is ready. Click the Export button to download it.",
    "preview": "Preview it in the timeline.",
    "audio_panel": "Open the audio panel to fine-tune the volume.",
    "unknown": "The local backend can't do that. It can: turn your uploaded photos into a video "
    "with transitions ('turn these photos into a video'), animate one image ('animate this image "
    "into a 5-second clip'), set the length ('make it 10 seconds'), add a title or caption ('add "
    "the title 'Summer''), add music from an uploaded audio file ('add this song at 30%'), "
    "replace a video's audio with an uploaded recording ('dub this clip with my recording'; the "
    "lips are not re-synced locally), make a talking photo from a portrait and a recording (the "
    "face is not animated locally), and remove the title, caption or music.",
}

_ZH = {
    "working": "正在制作你的视频",
    "slideshow": "已把你的 {count} 张照片做成 {seconds} 秒的视频{transition}。",
    "slideshow_one": "已把你的照片做成 {seconds} 秒的视频。",
    "with_transition": "，带{name}转场",
    "animate": "已把 {name} 做成 {seconds} 秒的动态短片（缓慢{motion}）。",
    "dub": "已用 {audio} 替换 {video} 的音频。",
    "dub_note": "注意：本地后端无法重新对口型，嘴型不会与新音频同步。",
    "talking": "已用 {image} 和配音 {audio} 做成 {seconds} 秒的短片。",
    "talking_note": "注意：本地后端无法让人脸动起来，照片只有缓慢缩放，脸部不会动。",
    "duration": "视频现在时长 {seconds} 秒。",
    "duration_each": "每个片段现在 {seconds} 秒。",
    "title": "已添加标题「{text}」（{start}-{end} 秒）。",
    "caption": "已添加字幕「{text}」，覆盖整个视频。",
    "music": "已添加背景音乐 {name}，音量 {percent}%。",
    "volume": "背景音乐音量已调为 {percent}%。",
    "removed_title": "已删除标题。",
    "removed_caption": "已删除字幕。",
    "removed_bgm": "已删除背景音乐。",
    "nothing_title": "没有可删除的标题。",
    "nothing_caption": "没有可删除的字幕。",
    "nothing_bgm": "没有可删除的背景音乐。",
    "need_images": "请先上传照片（jpg、png、gif 或 webp），再试一次。",
    "need_video_audio": "替换视频音频前，请先上传视频和新的音频。",
    "need_image_audio": "制作会说话的照片前，请先上传人像照片和配音。",
    "need_audio": "请先上传音频文件（mp3、wav、m4a 或 aac），再添加音乐。",
    "need_video": "还没有视频：请先把照片做成视频。",
    "need_text": "{what}要写什么？请把文字放在引号里，例如「夏天」。",
    "no_font": "这台电脑上没有能显示「{chars}」的字体，导出后会显示成方框：请先安装该文字的字体"
    "（例如 Noto Sans CJK）再导出。",
    "ready": "视频已生成，点击导出按钮即可下载。",
    "preview": "可以在时间线中预览。",
    "audio_panel": "打开音频面板可以微调音量。",
    "unknown": "本地后端做不到这个。它可以：把上传的照片做成带转场的视频、让一张图片动起来、"
    "设置视频时长、添加标题或字幕、用上传的音频添加背景音乐、用上传的录音替换视频音频"
    "（本地无法重新对口型）、用人像和录音做会说话的照片（本地无法让脸动起来），"
    "以及删除标题、字幕或音乐。",
}

_WORDS = {
    "zh": {
        "fade": "淡入淡出",
        "slide": "滑动",
        "zoom_in": "放大",
        "zoom_out": "缩小",
        "pan_left": "左移",
        "pan_right": "右移",
        "title": "标题",
        "caption": "字幕",
    },
    "en": {
        "zoom_in": "zoom in",
        "zoom_out": "zoom out",
        "pan_left": "pan to the left",
        "pan_right": "pan to the right",
    },
}


def say(language: str, key: str, **values: Any) -> str:
    """The phrase ``key`` in ``language`` ("zh" or English), filled with ``values``."""
    table = _ZH if language == "zh" else _EN
    return table[key].format(**values)


def word(language: str, term: str) -> str:
    """A short term (motion, transition, track role) in ``language``."""
    return _WORDS.get(language, _WORDS["en"]).get(term, term)
