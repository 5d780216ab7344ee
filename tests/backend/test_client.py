"""The backend client against respx routes: endpoints, headers, error codes, recovery rules."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.sse import Heartbeat, Signal
from nemo_mcp.downloads import save_video
from nemo_mcp.errors import (
    BackendError,
    BackendUnreachable,
    ClientIdMissing,
    ExportBlocked,
    MediaTooLarge,
    OutOfCredits,
    RateLimited,
    RequestRejected,
    ServerFault,
    SessionNotFound,
    StreamDropped,
    TokenInvalid,
    UnsupportedType,
)
from nemo_mcp.store import SQLiteStore, TokenRecord, ensure_client_id, read_client_id
from nemo_mcp.words import user_message
from tests.backend.conftest import CAPTURES, BrokenStream, http_captures, load_capture
from tests.conftest import SENTINEL_TOKEN, Sleeps

Factory = Callable[..., BackendClient]
SID = "sess-1"


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "data": data, "message": "ok"})


def fail(code: int, status: int = 200, message: str = "nope") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "data": None, "message": message})


def token_route(router: respx.MockRouter, *tokens: str) -> respx.Route:
    answers = [ok({"token": t, "credits": 100}) for t in tokens or ("nmv_usr_anon_first_token",)]
    return router.post("/api/auth/anonymous-token").mock(side_effect=answers)


def session_route(router: respx.MockRouter, *sids: str) -> respx.Route:
    answers = [ok({"task_id": f"task-{s}", "session_id": s}) for s in sids or (SID,)]
    return router.post("/api/tasks/me/with-session/nemo_agent").mock(side_effect=answers)


def sse(body: bytes | str, status: int = 200) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=content)


# -- every endpoint ---------------------------------------------------------------------


async def test_every_call_carries_attribution_and_bearer(
    make_client: Factory, router: respx.MockRouter, tmp_path: Path
) -> None:
    token = token_route(router)
    session_route(router)
    router.get("/api/credits/balance/simple").mock(
        return_value=ok({"available": 80, "frozen": 20, "total": 100})
    )
    router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(
        return_value=ok({"state": {"draft": {"t": []}}})
    )
    router.post("/api/auth/claim-token").mock(return_value=ok({"claim_token": "clm_abc"}))
    router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(return_value=ok({"files": []}))
    router.post("/run_sse").mock(return_value=sse(": hb\n\n"))
    router.post("/api/render/proxy/lambda").mock(return_value=ok({"id": "r1", "status": "pending"}))
    router.get("/api/render/proxy/lambda/r1").mock(
        return_value=httpx.Response(200, json={"id": "r1", "status": "processing"})
    )
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
    router.get("/api/render/proxy/r1/download").mock(return_value=httpx.Response(200, content=mp4))
    media = tmp_path / "a.jpg"
    media.write_bytes(b"\xff\xd8\xff" + b"x" * 10)

    async with make_client() as client:
        assert (await client.credits()).available == 80
        assert await client.state() == {"draft": {"t": []}}
        link = await client.project_link()
        await client.upload_file(media, filename="a.jpg", content_type="image/jpeg")
        await client.upload_urls(["https://example.test/a.jpg"])
        await client.send_message("hello")
        await client.submit_render({"t": []}, "r1", SID)
        await client.render_status("r1")
        (tmp_path / "out").mkdir()
        await save_video(client, client.fallback_download_url("r1"), tmp_path / "out" / "v.mp4")

    assert link == "https://web.nemo.test/workspace/claim?ct=clm_abc"
    assert token.call_count == 1
    for call in router.calls:
        headers = call.request.headers
        assert headers["X-Skill-Source"] == "picture-to-video-ai"
        assert headers["X-Skill-Version"] == "1.0.0"
        assert headers["X-Skill-Platform"] == "unknown"
        if call.request.url.path == "/api/auth/anonymous-token":
            assert "authorization" not in headers
            assert headers["X-Client-Id"]
        else:
            assert headers["authorization"] == "Bearer nmv_usr_anon_first_token"
        assert "nmv_usr" not in str(call.request.url)


async def test_request_bodies_follow_the_contract(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    create = session_route(router)
    run = router.post("/run_sse").mock(return_value=sse(""))
    render = router.post("/api/render/proxy/lambda").mock(return_value=ok({"status": "pending"}))
    urls = router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(return_value=ok({}))
    async with make_client() as client:
        await client.send_message("add the title 'Hi'")
        await client.submit_render({"t": [1]}, "render_1", SID)
        await client.upload_urls(["https://e.test/x.png"])
    assert json.loads(create.calls[0].request.content) == {"task_name": "project", "language": "en"}
    body = json.loads(run.calls[0].request.content)
    assert body["app_name"] == "nemo_agent" and body["user_id"] == "me"
    assert body["session_id"] == SID
    assert body["new_message"] == {"parts": [{"text": "add the title 'Hi'"}]}
    assert run.calls[0].request.headers["accept"] == "text/event-stream"
    assert json.loads(render.calls[0].request.content) == {
        "id": "render_1",
        "sessionId": SID,
        "draft": {"t": [1]},
        "output": {"format": "mp4", "quality": "high"},
    }
    assert json.loads(urls.calls[0].request.content) == {
        "urls": ["https://e.test/x.png"], "source_type": "url",
    }  # fmt: skip


async def test_render_status_reads_bare_and_enveloped_answers(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    router.get("/api/render/proxy/lambda/a").mock(
        return_value=httpx.Response(
            200, json={"id": "a", "status": "completed", "output": {"url": "https://cdn/x.mp4"}}
        )
    )
    router.get("/api/render/proxy/lambda/b").mock(
        return_value=ok({"status": "failed", "error": "boom"})
    )
    async with make_client() as client:
        a = await client.render_status("a")
        b = await client.render_status("b")
    assert (a.status, a.url) == ("completed", "https://cdn/x.mp4")
    assert (b.id, b.status, b.error) == ("b", "failed", "boom")


async def test_multipart_upload_is_streamed_with_a_known_length(
    make_client: Factory, router: respx.MockRouter, tmp_path: Path
) -> None:
    token_route(router)
    session_route(router)
    route = router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(
        return_value=ok({"files": [{"media_id": "m1"}]})
    )
    payload = os.urandom(3 * 1024 * 1024 + 17)
    media = tmp_path / "clip.mp4"
    media.write_bytes(payload)
    seen: list[tuple[int, int | None]] = []

    async def progress(sent: int, total: int | None) -> None:
        seen.append((sent, total))

    async with make_client() as client:
        answer = await client.upload_file(
            media, filename='my "clip".mp4', content_type="video/mp4", progress=progress
        )
    assert answer == {"files": [{"media_id": "m1"}]}
    request = route.calls[0].request
    assert int(request.headers["content-length"]) == len(request.content)
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="files"; filename="my %22clip%22.mp4"' in request.content
    assert payload in request.content
    assert seen[-1] == (len(payload), len(payload))
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)


# -- errors in both forms ---------------------------------------------------------------

CODES = [
    pytest.param(2001, 403, OutOfCredits, id="2001-out-of-credits"),
    pytest.param(4001, 415, UnsupportedType, id="4001-unsupported"),
    pytest.param(4002, 413, MediaTooLarge, id="4002-too-large"),
    pytest.param(402, 402, ExportBlocked, id="402-export-blocked"),
    pytest.param(422, 422, RequestRejected, id="422-rejected"),
    pytest.param(500, 500, ServerFault, id="500-server"),
]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, TokenInvalid, id="401-without-code"),
        pytest.param(402, ExportBlocked, id="402"),
        pytest.param(404, RequestRejected, id="404"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(500, ServerFault, id="500"),
        pytest.param(503, ServerFault, id="503"),
    ],
)
async def test_bare_http_statuses(
    make_client: Factory, router: respx.MockRouter, status: int, error: type[BackendError]
) -> None:
    token_route(router, "nmv_usr_first_aaaaaa", "nmv_usr_second_bbbbb")
    router.get("/api/credits/balance/simple").mock(
        return_value=httpx.Response(status, text="<html>error</html>")
    )
    async with make_client(retry_after=0) as client:
        with pytest.raises(error):
            await client.credits()


@pytest.mark.parametrize(("code", "status", "error"), CODES)
@pytest.mark.parametrize("form", ["envelope-200", "envelope-status"])
async def test_error_codes_in_every_form(
    make_client: Factory,
    router: respx.MockRouter,
    code: int,
    status: int,
    error: type[BackendError],
    form: str,
) -> None:
    token_route(router)
    answer = {
        "envelope-200": fail(code, 200),
        "envelope-status": fail(code, status),
    }[form]
    router.get("/api/credits/balance/simple").mock(return_value=answer)
    async with make_client() as client:
        with pytest.raises(error):
            await client.credits()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(200, text="<html>gateway</html>"), id="html-200"),
        pytest.param(httpx.Response(200, text='{"code": 0, "data": '), id="truncated-json"),
        pytest.param(httpx.Response(200, json={"unexpected": True}), id="no-envelope"),
        pytest.param(httpx.Response(502, text="Bad Gateway"), id="502"),
    ],
)
async def test_unreadable_answers_are_server_faults(
    make_client: Factory, router: respx.MockRouter, answer: httpx.Response
) -> None:
    token_route(router)
    router.get("/api/credits/balance/simple").mock(return_value=answer)
    async with make_client() as client:
        with pytest.raises(ServerFault):
            await client.credits()


TRANSPORT_FAULTS = [
    httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectTimeout, httpx.RemoteProtocolError,
]  # fmt: skip


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS)
async def test_transport_faults_are_unreachable(
    make_client: Factory, router: respx.MockRouter, fault: type[Exception]
) -> None:
    token_route(router)
    router.get("/api/credits/balance/simple").mock(side_effect=fault("down"))
    async with make_client() as client:
        with pytest.raises(BackendUnreachable):
            await client.credits()


# -- recovery rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [fail(1001, 200), fail(1001, 401), httpx.Response(401, json={"code": 1001})],
    ids=["envelope-200", "envelope-401", "status-401"],
)
async def test_1001_renews_the_anonymous_token_once(
    make_client: Factory, router: respx.MockRouter, refusal: httpx.Response, settings: Any
) -> None:
    tokens = token_route(router, "nmv_usr_first_aaaaaa", "nmv_usr_second_bbbbb")
    route = router.get("/api/credits/balance/simple").mock(
        side_effect=[refusal, ok({"available": 5, "frozen": 0, "total": 5})]
    )
    async with make_client() as client:
        assert (await client.credits()).available == 5
    cached = await SQLiteStore.in_folder(settings.config_dir).token(settings.api_url, "")
    assert cached is not None and cached.token == "nmv_usr_second_bbbbb"
    assert tokens.call_count == 2
    ids = {c.request.headers["X-Client-Id"] for c in tokens.calls}
    assert len(ids) == 1, "the same client id asks again"
    assert route.calls[1].request.headers["authorization"] == "Bearer nmv_usr_second_bbbbb"


async def test_1001_twice_is_reported(make_client: Factory, router: respx.MockRouter) -> None:
    token_route(router, "nmv_usr_first_aaaaaa", "nmv_usr_second_bbbbb")
    route = router.get("/api/credits/balance/simple").mock(return_value=fail(1001))
    async with make_client() as client:
        with pytest.raises(TokenInvalid):
            await client.credits()
    assert route.call_count == 2


async def test_1001_with_a_user_token_is_not_retried(
    make_client: Factory, router: respx.MockRouter
) -> None:
    tokens = token_route(router)
    route = router.get("/api/credits/balance/simple").mock(return_value=fail(1001, 401))
    async with make_client(token=SENTINEL_TOKEN) as client:
        with pytest.raises(TokenInvalid) as info:
            await client.credits()
        words = user_message(info.value)
    assert "NEMO_TOKEN" in words, "a user's own token is not renewed: the words say what to do"
    assert tokens.call_count == 0
    assert route.call_count == 1
    assert route.calls[0].request.headers["authorization"] == f"Bearer {SENTINEL_TOKEN}"
    assert SENTINEL_TOKEN not in words and SENTINEL_TOKEN not in str(info.value)


async def test_1002_creates_a_new_session_and_retries_state(
    make_client: Factory, router: respx.MockRouter, settings: Any
) -> None:
    token_route(router)
    session_route(router, "old", "new")
    router.get("/api/state/nemo_agent/me/old/latest").mock(return_value=fail(1002, 404))
    router.get("/api/state/nemo_agent/me/new/latest").mock(return_value=ok({"state": {"x": 1}}))
    async with make_client() as client:
        assert await client.state() == {"x": 1}
        assert any("new one was started" in n for n in client.take_notices())
        assert client.take_notices() == []
    stored = await SQLiteStore.in_folder(settings.config_dir).session(client.scope)
    assert stored is not None and stored.session_id == "new"


async def test_1002_on_a_message_never_resends(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    session_route(router, "old", "new")
    run = router.post("/run_sse").mock(
        return_value=httpx.Response(404, json={"detail": "Session not found: old"})
    )
    async with make_client() as client:
        with pytest.raises(SessionNotFound):
            await client.send_message("make it 5 seconds")
        assert (await client.sessions.current()).session_id == "new"
    assert run.call_count == 1


async def test_400_gets_a_new_client_id_once_and_persists_it(
    make_client: Factory, router: respx.MockRouter, settings: Any
) -> None:
    old_id = ensure_client_id(settings.config_dir)
    tokens = router.post("/api/auth/anonymous-token").mock(
        side_effect=[fail(400, 400, "missing X-Client-Id"), ok({"token": "nmv_usr_x_123456"})]
    )
    router.get("/api/credits/balance/simple").mock(return_value=ok({"available": 1}))
    async with make_client() as client:
        await client.credits()
    first, second = (c.request.headers["X-Client-Id"] for c in tokens.calls)
    assert first == old_id
    assert second != old_id
    assert read_client_id(settings.config_dir) == second


async def test_400_twice_is_reported(make_client: Factory, router: respx.MockRouter) -> None:
    tokens = router.post("/api/auth/anonymous-token").mock(return_value=fail(400, 400))
    router.get("/api/credits/balance/simple").mock(return_value=ok({}))
    async with make_client() as client:
        with pytest.raises(ClientIdMissing):
            await client.credits()
    assert tokens.call_count == 2


@pytest.mark.parametrize(
    "limit",
    [httpx.Response(429, headers={"Retry-After": "7"}), fail(429, 200)],
    ids=["status", "envelope"],
)
async def test_429_backs_off_once_then_succeeds(
    make_client: Factory, router: respx.MockRouter, sleeps: Sleeps, limit: httpx.Response
) -> None:
    token_route(router)
    router.get("/api/credits/balance/simple").mock(side_effect=[limit, ok({"available": 3})])
    async with make_client(retry_after=12.5) as client:
        assert (await client.credits()).available == 3
    assert sleeps == [12.5]


async def test_429_twice_is_reported(
    make_client: Factory, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    token_route(router)
    route = router.get("/api/credits/balance/simple").mock(return_value=httpx.Response(429))
    async with make_client() as client:
        with pytest.raises(RateLimited):
            await client.credits()
    assert route.call_count == 2 and len(sleeps) == 1


async def test_429_on_the_token_call_backs_off_once(
    make_client: Factory, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    router.post("/api/auth/anonymous-token").mock(
        side_effect=[httpx.Response(429), ok({"token": "nmv_usr_after_wait"})]
    )
    router.get("/api/credits/balance/simple").mock(return_value=ok({}))
    async with make_client() as client:
        await client.credits()
    assert len(sleeps) == 1


async def test_message_refused_before_the_stream_is_retried_but_never_after(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router, "nmv_usr_first_aaaaaa", "nmv_usr_second_bbbbb")
    session_route(router)
    capture = load_capture(CAPTURES / "capture_normal_streamtrue.txt")
    run = router.post("/run_sse").mock(
        side_effect=[fail(1001, 401), httpx.Response(429), capture.response()]
    )
    async with make_client() as client:
        turn = await client.send_message("go")
    assert "vid_0001 is ready" in turn.text
    assert run.call_count == 3


async def test_a_dropped_stream_is_never_resent(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    session_route(router)
    first = b'data: {"id": "1", "partial": true, "content": {"parts": [{"text": "Working"}]}}\n\n'
    run = router.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=BrokenStream(first, b": hb")
        )
    )
    signals: list[Signal] = []

    async def on_signal(signal: Signal) -> None:
        signals.append(signal)

    async with make_client() as client:
        with pytest.raises(StreamDropped) as info:
            await client.send_message("animate it", on_signal)
    assert info.value.text == "Working"
    assert run.call_count == 1
    assert signals, "what arrived before the drop was still delivered"


async def test_no_answer_at_all_to_a_message_is_a_drop_not_a_resend(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    session_route(router)
    run = router.post("/run_sse").mock(side_effect=httpx.ReadTimeout("no answer"))
    async with make_client() as client:
        with pytest.raises(StreamDropped):
            await client.send_message("animate it")
    assert run.call_count == 1


async def test_unreachable_backend_on_a_message_says_nothing_was_sent(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    session_route(router)
    router.post("/run_sse").mock(side_effect=httpx.ConnectError("refused"))
    async with make_client() as client:
        with pytest.raises(BackendUnreachable, match="nothing was sent"):
            await client.send_message("x")


async def test_heartbeats_are_signalled(make_client: Factory, router: respx.MockRouter) -> None:
    token_route(router)
    session_route(router)
    router.post("/run_sse").mock(return_value=sse(": a\n\ndata:\n\n: b\n\n"))
    beats: list[Signal] = []

    async def on_signal(signal: Signal) -> None:
        beats.append(signal)

    async with make_client() as client:
        turn = await client.send_message("x", on_signal)
    assert beats == [Heartbeat("comment"), Heartbeat("empty data"), Heartbeat("comment")]
    assert turn.silent and turn.heartbeats == 3


class SlowHeartbeats(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for _ in range(1000):
            yield b": still working\n\n"
            await anyio.sleep(0.01)


async def test_heartbeats_only_for_too_long_times_out(
    make_client: Factory, router: respx.MockRouter
) -> None:
    from nemo_mcp.errors import StreamTimedOut

    token_route(router)
    session_route(router)
    run = router.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=SlowHeartbeats()
        )
    )
    async with make_client(heartbeat_timeout=0.1) as client:
        with anyio.fail_after(5):
            with pytest.raises(StreamTimedOut):
                await client.send_message("x")
    assert run.call_count == 1


async def test_whole_stream_cap(make_client: Factory, router: respx.MockRouter) -> None:
    from nemo_mcp.errors import StreamTimedOut

    token_route(router)
    session_route(router)
    router.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=SlowHeartbeats()
        )
    )
    async with make_client(sse_timeout=0.1) as client:
        with anyio.fail_after(5):
            with pytest.raises(StreamTimedOut, match="time limit"):
                await client.send_message("x")


@pytest.mark.parametrize("path", http_captures(), ids=lambda p: p.stem)
async def test_every_capture_replayed_through_the_client(
    make_client: Factory, router: respx.MockRouter, path: Path
) -> None:
    """Each recorded answer, as the answer to a message: a turn or a typed error, never a crash."""
    token_route(router)
    session_route(router, SID, "replacement")
    capture = load_capture(path)
    router.post("/run_sse").mock(return_value=capture.response())
    async with make_client() as client:
        if "event-stream" in capture.headers.get("content-type", ""):
            turn = await client.send_message("hi")
            assert turn.text.count("Your video") <= 1
        elif capture.status == 404 and b"Session not found" in capture.body:
            with pytest.raises(SessionNotFound):
                await client.send_message("hi")
        elif capture.status >= 400:
            with pytest.raises(RequestRejected):
                await client.send_message("hi")
        else:
            with pytest.raises(ServerFault):
                await client.send_message("hi")


# -- identity and caches -----------------------------------------------------------------


async def test_token_cache_is_private_and_reused(
    make_client: Factory, router: respx.MockRouter, settings: Any
) -> None:
    tokens = token_route(router)
    router.get("/api/credits/balance/simple").mock(return_value=ok({}))
    async with make_client() as client:
        await client.credits()
    async with make_client() as client:
        await client.credits()
    assert tokens.call_count == 1
    mode = stat.S_IMODE((settings.config_dir / "state.db").stat().st_mode)
    assert mode == 0o600


async def test_expired_cached_token_is_replaced(
    make_client: Factory, router: respx.MockRouter, settings: Any
) -> None:
    store = SQLiteStore.in_folder(settings.config_dir)
    client_id = ensure_client_id(settings.config_dir)
    stale = TokenRecord("nmv_usr_stale_token", time.time() - 10, client_id)
    await store.save_token(settings.api_url, "", stale)
    await store.close()
    tokens = token_route(router, "nmv_usr_fresh_token")
    route = router.get("/api/credits/balance/simple").mock(return_value=ok({}))
    async with make_client() as client:
        await client.credits()
    assert tokens.call_count == 1
    assert route.calls[0].request.headers["authorization"] == "Bearer nmv_usr_fresh_token"


async def test_client_id_from_environment_wins(
    make_client: Factory, router: respx.MockRouter
) -> None:
    tokens = token_route(router)
    router.get("/api/credits/balance/simple").mock(return_value=ok({}))
    cid = "0b6f2a52-3d3e-4c61-9c61-7a4ad1a7f0a1"
    async with make_client(client_id=cid) as client:
        await client.credits()
    assert tokens.calls[0].request.headers["X-Client-Id"] == cid


async def test_session_is_remembered_per_skill_across_restarts(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    create = session_route(router)
    router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(return_value=ok({"state": {}}))
    async with make_client() as client:
        await client.state()
    async with make_client() as client:
        await client.state()
    assert create.call_count == 1


async def test_concurrent_calls_get_one_token_and_one_session(
    make_client: Factory, router: respx.MockRouter
) -> None:
    async def slow_token(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)
        return ok({"token": "nmv_usr_only_one_token"})

    async def slow_session(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)
        return ok({"task_id": "t", "session_id": SID})

    tokens = router.post("/api/auth/anonymous-token").mock(side_effect=slow_token)
    sessions = router.post("/api/tasks/me/with-session/nemo_agent").mock(side_effect=slow_session)
    router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(return_value=ok({"state": {}}))
    async with make_client() as client, anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(client.state)
    assert tokens.call_count == 1
    assert sessions.call_count == 1


async def test_register_link_uses_bind_id_from_state(
    make_client: Factory, router: respx.MockRouter
) -> None:
    token_route(router)
    session_route(router)
    router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(
        return_value=ok({"state": {}, "bind_id": "bind-7"})
    )
    async with make_client() as client:
        await client.sessions.current()
        assert client.register_link() == f"https://web.nemo.test?bind=task-{SID}"
        await client.state()
        assert client.register_link() == "https://web.nemo.test?bind=bind-7"


# -- secrets -----------------------------------------------------------------------------


async def test_sentinel_token_never_leaks_into_errors_or_logs(
    make_client: Factory, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    from nemo_mcp.redact import install_log_redaction

    caplog.set_level(logging.DEBUG)
    install_log_redaction()
    router.get("/api/credits/balance/simple").mock(
        return_value=fail(1001, 401, f"token {SENTINEL_TOKEN} is invalid")
    )
    async with make_client(token=SENTINEL_TOKEN) as client:
        with pytest.raises(TokenInvalid) as info:
            await client.credits()
        logging.getLogger("nemo_mcp").warning("refused: %s", info.value.detail)
    assert SENTINEL_TOKEN not in user_message(info.value)
    assert SENTINEL_TOKEN not in repr(client.settings)
    assert SENTINEL_TOKEN not in caplog.text
