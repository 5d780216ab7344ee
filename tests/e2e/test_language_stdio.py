"""The session's language over stdio, as a Chinese-writing user meets it: the conversation starts
with an upload, on a machine whose locale is English.

That the setting (``NEMO_LANGUAGE``) wins over the first words and the locale is proven in memory
(tests/tools/test_upload_media.py, ``setting-wins``), and that the variable is read, in
tests/test_settings.py: a server process of its own would prove nothing more."""

from __future__ import annotations

import sqlite3

from mcp import Client

from tests.e2e.conftest import MakeMedia, Workspace, structured


def _session_languages(workspace: Workspace) -> list[str]:
    with sqlite3.connect(workspace.config / "state.db") as db:
        return [row[0] for row in db.execute("SELECT language FROM sessions")]


async def test_a_chinese_first_conversation_that_starts_with_an_upload_is_chinese(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """The first words ("upload these photos", answered by the server itself) come before the
    upload that creates the session: they, not the English locale, choose its language; the
    edit's quoted title is taken and the backend's reply is Chinese."""
    pictures = photos(2)
    params = workspace.params(LANG="en_US.UTF-8")
    async with Client(params, mode="legacy") as client:
        hint = structured(await client.call_tool("send_edit", {"message": "上传这些照片"}))
        assert hint["intent"] == "upload"
        uploaded = structured(
            await client.call_tool("upload_media", {"paths": [str(p) for p in pictures]})
        )
        assert uploaded["status"] == "done"
        edit = structured(
            await client.call_tool("send_edit", {"message": "把这些照片做成视频，加上标题'你好'"})
        )
    assert _session_languages(workspace) == ["zh"]
    assert edit["status"] == "done", edit
    assert "「你好」" in edit["reply"] and "标题要写什么" not in edit["reply"], edit["reply"]
    assert any("你好" in change for change in edit["changes"]), edit["changes"]
