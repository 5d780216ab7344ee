"""Which language a session is created in: pure rules, then the real client on a real backend
(the local backend keeps what it was sent in its state file)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from nemo_local import LocalBackendConfig, start_in_thread
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.language import choose_language, language_of_locale, language_of_text
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import SQLiteStore


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("把这些照片做成视频", "zh"),
        ("この写真を動画にして", "ja"),  # kana wins over the Han it mixes in
        ("이 사진으로 영상을 만들어", "ko"),
        ("сделай видео из фото", "ru"),
        ("اصنع فيديو", "ar"),
        ("ทำวิดีโอ", "th"),
        ("वीडियो बनाओ", "hi"),
        ("mach ein Video daraus", None),  # Latin script says nothing about which language
        ("123 !!", None),
    ],
)
def test_the_script_of_a_message_shows_its_language(text: str, language: str | None) -> None:
    assert language_of_text(text) == language


@pytest.mark.parametrize(
    ("locale", "language"),
    [("zh_CN.UTF-8", "zh"), ("de-DE", "de"), ("pt_BR", "pt"), ("C", None), ("C.UTF-8", None),
     ("POSIX", None), (None, None), ("", None)],
)  # fmt: skip
def test_the_locale_names_a_language(locale: str | None, language: str | None) -> None:
    assert language_of_locale(locale) == language


def test_the_order_override_then_message_then_locale_then_english() -> None:
    assert choose_language("fr", "把这些照片做成视频", "de_DE.UTF-8") == "fr"
    assert choose_language(None, "把这些照片做成视频", "de_DE.UTF-8") == "zh"
    assert choose_language(None, "make a video", "de_DE.UTF-8") == "de"
    assert choose_language(None, None, "de_DE.UTF-8") == "de"
    assert choose_language(None, "make a video", "C") == "en"


@pytest.mark.real  # a backend on a port
async def test_sessions_are_created_in_the_detected_language_and_keep_it(
    settings: Settings, manifest: Manifest, tmp_path: Path
) -> None:
    """An edit that creates the session sends its language; a replacement (after the backend
    lost the session) keeps it; the setting overrides."""
    data = tmp_path / "lb"
    config = LocalBackendConfig(data_dir=data, keep_state=True, work_seconds=0.1)
    with start_in_thread(config) as backend:
        live = replace(settings, api_url=backend.url, locale="de_DE.UTF-8")
        async with BackendClient(live, manifest, SQLiteStore.in_folder(live.config_dir)) as client:
            await client.send_message("把标题改成'海边'")
            first = await client.sessions.current()
            backend.faults.update({"lose_session": True})
            await client.state()
            second = await client.sessions.current()
        override = replace(live, language="fr", config_dir=tmp_path / "other")
        async with BackendClient(
            override, manifest, SQLiteStore.in_folder(override.config_dir)
        ) as client:
            third = await client.sessions.current()
    assert (first.language, second.language, third.language) == ("zh", "zh", "fr")
    assert second.session_id != first.session_id
    kept = json.loads((data / "state.json").read_text())["store"]["sessions"]
    sent = {s["id"]: s["language"] for s in kept}
    assert sent == {second.session_id: "zh", third.session_id: "fr"}
