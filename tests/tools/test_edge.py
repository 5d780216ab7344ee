"""The edge every answer passes: bounded in time, plain words, no secrets, no tracebacks."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.samples import make_photo
from nemo_mcp.tools import edge
from tests.conftest import SENTINEL_TOKEN
from tests.fakes.backend import FakeBackend, envelope, event_stream, reply
from tests.tools.conftest import text_of

WAIT = 0.5
MARGIN = 0.3
"""The edge's hard cut past the wait, shortened here: a read that hangs is cut by that guard
(its words say so), and waiting out the production margin (2 s) would prove nothing more."""
BOUND = WAIT + MARGIN + 0.5


async def hang(request: httpx.Request) -> httpx.Response:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        pytest.param("check_credits", {}, id="check_credits"),
        pytest.param("get_timeline", {}, id="get_timeline"),
        pytest.param("send_edit", {"message": "make a video"}, id="send_edit"),
        pytest.param("send_edit", {"message": "status"}, id="send_edit-status"),
        pytest.param("export_video", {}, id="export_video"),
        pytest.param("upload_media", {"paths": ["PHOTO"]}, id="upload_media"),
    ],
)
async def test_a_backend_that_never_answers_holds_no_tool_past_its_wait(
    open_session: Any,
    fake: FakeBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
    arguments: dict[str, Any],
) -> None:
    monkeypatch.setattr(edge, "DEADLINE_MARGIN_S", MARGIN)
    photo = make_photo(tmp_path / "media" / "a.jpg", 0, (64, 64))
    arguments = {k: [str(photo)] if v == ["PHOTO"] else v for k, v in arguments.items()}
    for route in ("token", "session", "state", "credits", "upload", "run_sse", "render_submit"):
        fake.fail(route, *[hang] * 5)
    async with open_session(tool_wait=WAIT) as s:
        started = time.monotonic()
        result = await s.call(tool, arguments)
        took = time.monotonic() - started
    assert took < BOUND, f"{tool} answered after {took:.1f} s"
    said = text_of(result) if result.is_error else str(result.structured_content)
    if result.is_error:
        assert "did not answer within" in said and "nothing was changed" in said
    else:
        assert result.structured_content["status"] == "running", "long work is a job with an id"
        assert result.structured_content["job_id"]


async def test_an_unexpected_failure_is_vague_logged_once_and_the_next_call_works(
    open_session: Any, fake: FakeBackend, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise ZeroDivisionError("internal detail 42")

    fake.fail("credits", explode)
    caplog.set_level(logging.INFO)
    async with open_session() as s:
        words = await s.error("check_credits")
        again = await s.data("check_credits")
    assert "Something unexpected went wrong" in words
    assert "ZeroDivision" not in words and "42" not in words and "Traceback" not in words
    assert (
        sum("ZeroDivisionError" in r.getMessage() or r.exc_info is not None for r in caplog.records)
        == 1
    )
    assert again["available"] == 500


async def test_an_expected_failure_is_one_log_line_without_a_traceback(
    open_session: Any, fake: FakeBackend, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail("credits", envelope(None, code=2001, status=403))
    caplog.set_level(logging.DEBUG)
    async with open_session() as s:
        await s.error("check_credits")
    assert not [r for r in caplog.records if r.exc_info]


async def test_secrets_never_leave_even_when_the_backend_echoes_them(
    open_session: Any, fake: FakeBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return envelope(None, code=4001, status=415, message=request.headers["authorization"])

    leak = f"your token is {SENTINEL_TOKEN} and a claim clm_abcdefghijkl"
    fake.fail("upload", echo)
    fake.stream(reply(leak))
    photo = make_photo(tmp_path / "media" / "a.jpg", 0, (64, 64))
    progress: list[str] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    caplog.set_level(logging.DEBUG)
    async with open_session(token=SENTINEL_TOKEN) as s:
        said = [
            await s.call("upload_media", {"paths": [str(photo)]}),
            await s.call("send_edit", {"message": "go"}, progress_callback=on_progress),
            await s.call("get_timeline"),
        ]
    everything = " ".join(text_of(r) + str(r.structured_content) for r in said) + " ".join(progress)
    assert SENTINEL_TOKEN not in everything
    assert SENTINEL_TOKEN not in caplog.text
    assert "[redacted]" in text_of(said[1])
    assert all(r.headers.get("authorization") == f"Bearer {SENTINEL_TOKEN}" for r in fake.requests)
    assert all(SENTINEL_TOKEN not in str(r.url) for r in fake.requests)


async def test_a_streamed_reply_is_kept_after_a_broken_line(
    open_session: Any, fake: FakeBackend
) -> None:
    fake.fail("run_sse", event_stream("data: {not json", reply("Still fine.")))
    async with open_session() as s:
        data = await s.data("send_edit", {"message": "go"})
    assert data["reply"] == "Still fine."


async def test_extras_that_fail_leave_the_result_standing_in_its_own_words(
    open_session: Any,
    fake: FakeBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The media extras run inside the edge's guard: a store error there is logged, and the
    result (a finished job may already be handed out with it) still reaches the user whole,
    never as the SDK's "Error executing tool ..."."""
    from nemo_mcp.tools import extras

    async def store_down(*_: Any) -> Any:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(extras, "finished_videos", store_down)
    monkeypatch.setattr(extras, "video_url", store_down)
    caplog.set_level(logging.WARNING)
    async with open_session() as s:
        timeline = await s.call("get_timeline")
        await s.data("upload_media", {"urls": ["https://example.com/a.jpg"]})
        await s.data("send_edit", {"message": "make a video"})
        exported = await s.call("export_video", {"download": False})
    for result in (timeline, exported):
        assert not result.is_error, text_of(result)
        assert "Error executing tool" not in text_of(result)
    assert exported.structured_content and exported.structured_content["status"] == "done"
    assert "database is locked" not in text_of(exported)
    assert sum("extras failed" in r.getMessage() for r in caplog.records) == 2


async def test_a_refused_argument_and_an_unknown_tool_are_plain_words(open_session: Any) -> None:
    """What the SDK answers before a tool runs goes out through the same edge: worded, with
    the rejected value not echoed back."""
    async with open_session() as s:
        bad = await s.client.call_tool("send_edit", {"message": ["nmv_usr_pasted_here_1234"]})
        unknown = await s.client.call_tool("no_such_tool", {})
    assert bad.is_error and unknown.is_error
    words = text_of(bad)
    assert words.startswith("send_edit was called with arguments it does not take (`message`")
    assert "nmv_usr_pasted" not in words and "pydantic" not in words
    assert "Unknown tool" in text_of(unknown)
