"""The HTTP contract of docs/BACKEND-CONTRACT.md on a real loopback port: answers, envelope,
error codes with their HTTP statuses, token and credit rules."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_local import LocalBackend, RunningBackend

from .conftest import fast_config
from .local_backend_helpers import User, jpeg, wav


def envelope_error(answer: httpx.Response, status: int, code: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code
    assert body["data"] is None
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


async def test_anonymous_token_answer(http: httpx.AsyncClient) -> None:
    answer = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-1"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["message"]) == (0, "ok")
    data = body["data"]
    assert data["token"].startswith("nmv_usr_") and len(data["token"]) > 20
    assert data["credits"] == 100
    assert data["expires_in"] == 7 * 24 * 3600


async def test_session_claim_credits_and_state_answers(user: User) -> None:
    answer = await user.http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "project", "language": "en"},
        headers=user.headers,
    )
    data = answer.json()["data"]
    assert set(data) == {"task_id", "session_id", "bind_id"}
    answer = await user.http.post(
        "/api/auth/claim-token",
        json={"task_id": user.task_id, "session_id": user.session_id},
        headers=user.headers,
    )
    claim = answer.json()["data"]
    assert claim["claim_token"].startswith("clm_") and claim["expires_in"] > 0
    assert await user.balance() == {"available": 100, "frozen": 0, "total": 100}
    state = await user.state()
    assert state["bind_id"] == data["bind_id"]
    assert state["state"] == {
        "draft": {"canvas": {"width": 1080, "height": 1920}, "t": []},
        "video_infos": [],
        "canvas_config": {"width": 1080, "height": 1920},
        "generated_media": [],
    }


async def test_uploads_show_in_state_and_their_urls_serve_the_bytes(user: User) -> None:
    photo, tone = jpeg(), wav(1.5)
    files = await user.upload(("beach.jpg", photo), ("song.wav", tone))
    assert [(f["name"], f["kind"], f["content_type"], f["bytes"]) for f in files] == [
        ("beach.jpg", "image", "image/jpeg", len(photo)),
        ("song.wav", "audio", "audio/wav", len(tone)),
    ]
    assert files[1]["duration_ms"] == 1500
    assert all(f["media_id"].startswith("med_") for f in files)
    infos = (await user.state())["state"]["video_infos"]
    assert [i["media_id"] for i in infos] == [f["media_id"] for f in files]
    served = await user.http.get(files[0]["url"])
    assert served.status_code == 200 and served.content == photo


async def test_generation_lands_in_state_with_generated_media(user: User) -> None:
    await user.upload(("a.jpg", jpeg()), ("b.jpg", jpeg((0, 90, 0))))
    await user.send("turn these photos into a video")
    state = (await user.state())["state"]
    assert [len(t["sg"]) for t in state["draft"]["t"]] == [2]
    assert state["generated_media"][0]["id"] == "vid_0001"
    assert state["generated_media"][0]["tool"] == "build_slideshow"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        pytest.param("POST", "/api/auth/anonymous-token", {}, 400, 400, id="no-client-id"),
        pytest.param(
            "GET", "/api/credits/balance/simple", {"auth": None}, 401, 1001, id="no-token"
        ),
        pytest.param(
            "GET",
            "/api/credits/balance/simple",
            {"auth": "Bearer nmv_usr_wrong"},
            401,
            1001,
            id="bad-token",
        ),
        pytest.param(
            "GET",
            "/api/credits/balance/simple",
            {"auth": "Basic abc"},
            401,
            1001,
            id="not-bearer",
        ),
        pytest.param(
            "GET", "/api/state/nemo_agent/me/ses_nope/latest", {}, 404, 1002, id="unknown-session"
        ),
        pytest.param(
            "POST",
            "/api/upload-video/nemo_agent/me/ses_nope",
            {"files": {"files": ("a.jpg", b"x")}},
            404,
            1002,
            id="upload-unknown-session",
        ),
        pytest.param(
            "POST",
            "/api/tasks/me/with-session/nemo_agent",
            {"content": b"{bad"},
            422,
            422,
            id="malformed-json",
        ),
        pytest.param(
            "POST",
            "/api/tasks/me/with-session/nemo_agent",
            {"json": {"language": "en"}},
            422,
            422,
            id="missing-task-name",
        ),
        pytest.param(
            "POST",
            "/api/tasks/me/with-session/nemo_agent",
            {"json": [1, 2]},
            422,
            422,
            id="body-not-an-object",
        ),
        pytest.param(
            "POST",
            "/api/tasks/me/with-session/nemo_agent",
            {"json": {"task_name": 5}},
            422,
            422,
            id="wrong-type",
        ),
        pytest.param(
            "POST",
            "/api/auth/claim-token",
            {"json": {"task_id": "t"}},
            422,
            422,
            id="claim-missing-session",
        ),
        pytest.param(
            "POST",
            "/api/upload-video/nemo_agent/me/{sid}",
            {"content": b"raw"},
            422,
            422,
            id="upload-no-content-type",
        ),
        pytest.param("GET", "/api/nothing-here", {}, 404, 404, id="unknown-route"),
        pytest.param("GET", "/api/auth/anonymous-token", {}, 405, 405, id="wrong-method"),
        pytest.param("GET", "/api/render/proxy/lambda/render_nope", {}, 404, 404, id="no-render"),
        pytest.param("GET", "/files/renders/render_nope.mp4", {}, 404, 404, id="no-render-file"),
        pytest.param("GET", "/files/media/med_nope.jpg", {}, 404, 404, id="no-media-file"),
    ],
)
async def test_errors_use_the_envelope_and_documented_statuses(
    user: User, method: str, path: str, kwargs: dict[str, Any], status: int, code: int
) -> None:
    headers = dict(user.headers)
    if "auth" in kwargs:
        auth = kwargs.pop("auth")
        headers.pop("Authorization")
        if auth:
            headers["Authorization"] = auth
    answer = await user.http.request(
        method, path.format(sid=user.session_id), headers=headers, **kwargs
    )
    envelope_error(answer, status, code)


async def test_another_accounts_session_is_not_found(http: httpx.AsyncClient, user: User) -> None:
    other = await User.create(http)
    answer = await http.get(
        f"/api/state/nemo_agent/me/{user.session_id}/latest", headers=other.headers
    )
    envelope_error(answer, 404, 1002)


async def test_claim_token_for_another_task_is_not_found(user: User) -> None:
    answer = await user.http.post(
        "/api/auth/claim-token",
        json={"task_id": "task_other", "session_id": user.session_id},
        headers=user.headers,
    )
    envelope_error(answer, 404, 1002)


async def test_same_token_while_live_and_credits_are_not_reset(user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("animate this image")
    assert (await user.balance())["available"] == 0
    again = await user.http.post(
        "/api/auth/anonymous-token", headers={"X-Client-Id": user.client_id}
    )
    assert again.json()["data"]["token"] == user.token
    assert again.json()["data"]["credits"] == 0


async def test_a_new_token_after_expiry_keeps_the_account(
    embedded_backend: RunningBackend, user: User
) -> None:
    embedded_backend.faults.expire_token = True
    message = envelope_error(
        await user.http.get("/api/credits/balance/simple", headers=user.headers), 401, 1001
    )
    assert "expired" in message
    fresh = await user.http.post(
        "/api/auth/anonymous-token", headers={"X-Client-Id": user.client_id}
    )
    token = fresh.json()["data"]["token"]
    assert token != user.token
    headers = {**user.headers, "Authorization": f"Bearer {token}"}
    state = await user.http.get(
        f"/api/state/nemo_agent/me/{user.session_id}/latest", headers=headers
    )
    assert state.status_code == 200, "the session belongs to the account, not to the token"
    old = await user.http.get("/api/credits/balance/simple", headers=user.headers)
    envelope_error(old, 401, 1001)


async def test_per_address_token_cap(tmp_path: Path) -> None:
    async with (
        LocalBackend(fast_config(tmp_path, tokens_per_address=2)) as backend,
        httpx.AsyncClient(base_url=backend.url) as http,
    ):
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for client_id in ids[:2]:
            answer = await http.post(
                "/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
            )
            assert answer.status_code == 200
        refused = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": ids[2]})
        envelope_error(refused, 429, 429)
        assert int(refused.headers["Retry-After"]) > 0
        again = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": ids[0]})
        assert again.status_code == 200, "a live token is returned again, not counted"


@pytest.mark.parametrize(
    ("message", "after"),
    [
        pytest.param("turn these photos into a video", 0, id="generation-100"),
        pytest.param("add the title 'Hi'", 50, id="edit-50"),
        pytest.param("sing me a song", 100, id="unknown-free"),
    ],
)
async def test_credits_charged_per_message(user: User, message: str, after: int) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send(message)
    assert await user.balance() == {"available": after, "frozen": 0, "total": after}


async def test_out_of_credits_is_403_2001_before_any_stream(user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("animate this image")
    before = await user.draft()
    answer = await user.http.post(
        "/run_sse", json=user.run_body("add the title 'No money'"), headers=user.headers
    )
    assert answer.headers["content-type"] == "application/json"
    assert "credits" in envelope_error(answer, 403, 2001)
    assert await user.draft() == before
    assert await user.balance() == {"available": 0, "frozen": 0, "total": 0}
