"""The real backend client against the embedded local backend on a real loopback port:
every call, every fault switch, and the issue's two render scenarios read back with PyAV."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from nemo_local import RunningBackend
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.sse import Heartbeat, Signal
from nemo_mcp.downloads import save_video
from nemo_mcp.errors import (
    BackendUnreachable,
    ExportBlocked,
    MediaTooLarge,
    RateLimited,
    SessionNotFound,
    StreamDropped,
    UnsupportedType,
)
from nemo_mcp.manifests import Manifest
from nemo_mcp.samples import make_photo, make_tune
from nemo_mcp.settings import Settings
from nemo_mcp.store import SQLiteStore
from nemo_mcp.timeline import parse_draft, summarize
from tests.e2e.conftest import read_mp4
from tests.embedded import INTEGRATION_CANVAS

CANVAS = INTEGRATION_CANVAS


@pytest.fixture
def embedded_variant() -> str:
    return "integration"


@pytest.fixture
def live(embedded_backend: RunningBackend, settings: Settings) -> Settings:
    return replace(settings, api_url=embedded_backend.url, poll_interval=0.05, request_timeout=20)


def client_for(settings: Settings, manifest: Manifest) -> BackendClient:
    return BackendClient(settings, manifest, SQLiteStore.in_folder(settings.config_dir))


async def wait_render(client: BackendClient, render_id: str) -> str:
    with anyio.fail_after(60):
        while (job := await client.render_status(render_id)).status not in ("completed", "failed"):
            await anyio.sleep(0.05)
    return job.status


async def test_every_call_and_the_issue_scenario(
    live: Settings, manifest: Manifest, tmp_path: Path, embedded_backend: RunningBackend
) -> None:
    photos = [make_photo(tmp_path / f"p{i}.jpg", i, (400, 600)) for i in range(3)]
    tune = make_tune(tmp_path / "song.wav", seconds=12)
    async with client_for(live, manifest) as client:
        for p in photos:
            await client.upload_file(p, filename=p.name, content_type="image/jpeg")
        answer = await client.upload_file(tune, filename=tune.name, content_type="audio/wav")
        assert answer["files"][0]["kind"] == "audio"
        turn = await client.send_message(
            "turn these photos into a video with transitions and add this song at 30%"
        )
        assert "3 photos" in turn.text and turn.tool_calls
        state = await client.state()
        assert summarize(parse_draft(state)).endswith("2. BGM: song.wav (0-9s, 30%)")
        credits = await client.credits()
        assert (credits.available, credits.frozen) == (5000 - 100, 0)
        session = await client.sessions.current()
        await client.submit_render(state["draft"], "render_int_1", session.session_id)
        assert await wait_render(client, "render_int_1") == "completed"
        job = await client.render_status("render_int_1")
        assert job.url
        (tmp_path / "out").mkdir()
        path = await save_video(client, job.url, tmp_path / "out" / "v.mp4")
        fallback = await save_video(
            client, client.fallback_download_url("render_int_1"), tmp_path / "out" / "v.mp4"
        )
        link = await client.project_link()
    facts = read_mp4(path)
    assert (facts["video_codec"], facts["audio_codec"], facts["pix_fmt"]) == (
        "h264", "aac", "yuv420p",
    )  # fmt: skip
    assert (facts["width"], facts["height"]) == CANVAS
    assert abs(facts["duration_s"] - 9.0) < 0.2
    assert fallback.name == "v (2).mp4" and fallback.read_bytes() == path.read_bytes()
    assert "/workspace/claim?ct=clm_" in link
    recent = embedded_backend.stats.snapshot()["recent"]
    assert len(recent) > 10
    for request in recent:
        assert request["skill_source"] and request["skill_version"] and request["skill_platform"]
        assert request["authorization"] == (request["route"] != "anonymous_token")


async def test_a_title_on_one_image(live: Settings, manifest: Manifest, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "one.jpg", 2, (300, 300))
    async with client_for(live, manifest) as client:
        await client.upload_file(photo, filename=photo.name, content_type="image/jpeg")
        await client.send_message("animate this image")
        turn = await client.send_message("add the title 'Hello'")
        state = await client.state()
        assert 'Title: "Hello"' in summarize(parse_draft(state))
        session = await client.sessions.current()
        await client.submit_render(state["draft"], "render_title", session.session_id)
        assert await wait_render(client, "render_title") == "completed"
        path = await save_video(
            client, client.fallback_download_url("render_title"), tmp_path / "t.mp4"
        )
    assert turn.text
    facts = read_mp4(path)
    assert facts["video_codec"] == "h264" and facts["audio_codec"] is None
    assert abs(facts["duration_s"] - 5.0) < 0.2


async def test_url_upload_from_this_machine(
    live: Settings, manifest: Manifest, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "u.jpg", 0, (100, 100))
    async with client_for(live, manifest) as client:
        stored = await client.upload_file(photo, filename="u.jpg", content_type="image/jpeg")
        url = stored["files"][0]["url"]
        again = await client.upload_urls([url])
    assert again["files"][0]["kind"] == "image"


# -- every fault switch --------------------------------------------------------------------


async def test_expired_token_is_renewed_once(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend
) -> None:
    async with client_for(live, manifest) as client:
        await client.credits()
        embedded_backend.faults.update({"expire_token": True})
        assert (await client.credits()).available > 0
    assert embedded_backend.stats.count("anonymous_token") == 2


async def test_lost_session_is_replaced_and_said(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend
) -> None:
    async with client_for(live, manifest) as client:
        first = await client.sessions.current()
        embedded_backend.faults.update({"lose_session": True})
        await client.state()
        assert (await client.sessions.current()).session_id != first.session_id
        assert client.take_notices()


async def test_lost_session_on_a_message_is_not_resent(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend
) -> None:
    async with client_for(live, manifest) as client:
        await client.sessions.current()
        embedded_backend.faults.update({"lose_session": True})
        with pytest.raises(SessionNotFound):
            await client.send_message("make it 5 seconds")
    assert embedded_backend.stats.count("run_sse") == 1


async def test_rate_limit_once_is_waited_out_twice_is_reported(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend
) -> None:
    async with client_for(live, manifest) as client:
        await client.credits()
        embedded_backend.faults.update({"rate_limit_next": 1})
        await client.credits()
        embedded_backend.faults.update({"rate_limit_next": 2})
        with pytest.raises(RateLimited):
            await client.credits()


async def test_dropped_stream_lands_the_edit_and_is_not_resent(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "d.jpg", 1, (100, 100))
    async with client_for(live, manifest) as client:
        await client.upload_file(photo, filename="d.jpg", content_type="image/jpeg")
        embedded_backend.faults.update({"drop_next_stream": True})
        with pytest.raises(StreamDropped):
            await client.send_message("animate this image")
        state = await client.state()
    assert parse_draft(state).tracks, "the edit landed before the drop"
    assert embedded_backend.stats.count("run_sse") == 1


async def test_heartbeat_only_stream_is_signalled(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "h.jpg", 1, (100, 100))
    beats: list[Signal] = []

    async def on_signal(signal: Signal) -> None:
        if isinstance(signal, Heartbeat):
            beats.append(signal)

    async with client_for(live, manifest) as client:
        await client.upload_file(photo, filename="h.jpg", content_type="image/jpeg")
        embedded_backend.faults.update({"heartbeat_only_seconds": 1.0})
        turn = await client.send_message("animate this image", on_signal)
    assert len(beats) >= 5 and turn.text


async def test_failed_render_and_blocked_export(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "r.jpg", 1, (100, 100))
    async with client_for(live, manifest) as client:
        await client.upload_file(photo, filename="r.jpg", content_type="image/jpeg")
        await client.send_message("animate this image")
        draft = (await client.state())["draft"]
        session = await client.sessions.current()
        embedded_backend.faults.update({"fail_next_render": True})
        await client.submit_render(draft, "render_fail", session.session_id)
        assert await wait_render(client, "render_fail") == "failed"
        embedded_backend.faults.update({"block_export": True})
        with pytest.raises(ExportBlocked):
            await client.submit_render(draft, "render_blocked", session.session_id)


async def test_slow_answers_are_waited_for_and_too_slow_is_unreachable(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend
) -> None:
    async with client_for(live, manifest) as client:
        await client.credits()
        embedded_backend.faults.update({"slow_ms": 300})
        await client.credits()
    impatient = replace(live, request_timeout=0.1)
    async with client_for(impatient, manifest) as client:
        with pytest.raises(BackendUnreachable):
            await client.credits()


async def test_silent_switch_gives_a_silent_turn(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "s.jpg", 1, (100, 100))
    async with client_for(live, manifest) as client:
        await client.upload_file(photo, filename="s.jpg", content_type="image/jpeg")
        await client.send_message("animate this image")
        embedded_backend.faults.update({"silent_next": True, "talkative": False})
        turn = await client.send_message("add the title 'Quiet'")
    assert turn.silent and turn.tool_calls


# -- bad input the backend refuses itself ----------------------------------------------------


async def test_the_backend_checks_type_and_size_too(
    live: Settings, manifest: Manifest, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_text("not a picture at all " * 10)
    big = tmp_path / "big.jpg"
    with big.open("wb") as f:
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(6 * 1024 * 1024)
    async with client_for(live, manifest) as client:
        with pytest.raises(UnsupportedType):
            await client.upload_file(fake, filename="fake.jpg", content_type="image/jpeg")
        with pytest.raises(MediaTooLarge):
            await client.upload_file(big, filename="big.jpg", content_type="image/jpeg")


async def test_malformed_and_headerless_requests_get_codes_not_500(
    live: Settings, embedded_backend: RunningBackend
) -> None:
    async with httpx.AsyncClient(base_url=embedded_backend.url) as http:
        no_id = await http.post("/api/auth/anonymous-token")
        broken = await http.post(
            "/run_sse", content=b"{not json", headers={"Authorization": "Bearer x"}
        )
    assert (no_id.status_code, no_id.json()["code"]) == (400, 400)
    assert broken.status_code in (401, 422) and broken.status_code != 500


async def test_the_draft_picture_is_asked_for_offline_only(
    live: Settings, manifest: Manifest, embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "pic.jpg", 2, (300, 400))
    offline = replace(live, local=True)
    async with client_for(offline, manifest) as client:
        assert await client.draft_picture() is None, "an empty draft shows nothing"
        await client.upload_file(photo, filename="pic.jpg", content_type="image/jpeg")
        await client.send_message("animate this image")
        first = await client.draft_picture()
        again = await client.draft_picture()
    assert first is not None and first[:2] == b"\xff\xd8" and len(first) < 100_000
    assert again == first
    asked = embedded_backend.stats.count("draft_picture")
    async with client_for(live, manifest) as client:  # the cloud: no such call, none made
        await client.upload_file(photo, filename="pic.jpg", content_type="image/jpeg")
        await client.send_message("animate this image")
        assert await client.draft_picture() is None
    assert embedded_backend.stats.count("draft_picture") == asked == 3
