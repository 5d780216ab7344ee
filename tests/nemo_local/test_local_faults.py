"""Fault switches (at start, through ``/_local/faults``, and directly) and request counters."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_local import Faults, LocalBackend, RunningBackend

from .conftest import fast_config
from .local_backend_helpers import ATTRIBUTION, User, events, jpeg, parse_sse, parts_of


async def set_faults(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    answer = await http.post("/_local/faults", json=changes)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_admin_route_shows_and_sets_switches(http: httpx.AsyncClient) -> None:
    shown = (await http.get("/_local/faults")).json()
    assert shown == {**Faults().snapshot(), "talkative": True}
    after = await set_faults(http, slow_ms=5, heartbeat_only_seconds=1, block_export=True)
    assert (after["slow_ms"], after["heartbeat_only_seconds"], after["block_export"]) == (
        5,
        1.0,
        True,
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"no_such_switch": True}, id="unknown"),
        pytest.param({"rate_limit_next": "3"}, id="string-for-int"),
        pytest.param({"rate_limit_next": -1}, id="negative"),
        pytest.param({"drop_next_stream": 1}, id="int-for-bool"),
        pytest.param([1], id="not-an-object"),
    ],
)
async def test_admin_route_refuses_bad_switches(http: httpx.AsyncClient, body: Any) -> None:
    answer = await http.post("/_local/faults", json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, 422)
    assert (await http.get("/_local/faults")).json()["rate_limit_next"] == 0, "nothing changed"


async def test_expire_token_through_the_admin_route(user: User) -> None:
    await set_faults(user.http, expire_token=True)
    answer = await user.http.get("/api/credits/balance/simple", headers=user.headers)
    assert (answer.status_code, answer.json()["code"]) == (401, 1001)


async def test_lose_session_deletes_the_next_named_session(user: User) -> None:
    await set_faults(user.http, lose_session=True)
    credits = await user.http.get("/api/credits/balance/simple", headers=user.headers)
    assert credits.status_code == 200, "calls that name no session keep the switch armed"
    state_url = f"/api/state/nemo_agent/me/{user.session_id}/latest"
    for _ in range(2):
        answer = await user.http.get(state_url, headers=user.headers)
        assert (answer.status_code, answer.json()["code"]) == (404, 1002)
    fresh = await User.create(user.http)
    assert (await fresh.state())["session_id"] == fresh.session_id, "one-shot"


async def test_rate_limit_next_n_calls(user: User) -> None:
    await set_faults(user.http, rate_limit_next=2, retry_after_s=7)
    statuses = []
    for _ in range(3):
        answer = await user.http.get("/api/credits/balance/simple", headers=user.headers)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.json()["code"] == 429
            assert answer.headers["Retry-After"] == "7"
        assert (await user.http.get("/_local/faults")).status_code == 200, "admin not limited"
    assert statuses == [429, 429, 200]


async def test_drop_next_stream_cuts_after_the_edit_landed(
    embedded_backend: RunningBackend, user: User
) -> None:
    await user.upload(("a.jpg", jpeg()), ("b.jpg", jpeg()))
    embedded_backend.faults.drop_next_stream = True
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        async with user.http.stream(
            "POST", "/run_sse", json=user.run_body("photos to video"), headers=user.headers
        ) as stream:
            async for chunk in stream.aiter_bytes():
                received += chunk
    evs = events(parse_sse(bytes(received)))
    assert [r["name"] for r in parts_of(evs, "functionResponse")] == ["build_slideshow"]
    assert not [ev for ev in evs if not ev.get("partial") and parts_of([ev], "text")], (
        "no final text"
    )
    assert len((await user.draft())["t"][0]["sg"]) == 2, "the edit is in the state"
    assert (await user.balance())["available"] == 0, "and it was charged"
    follow_up = await user.send("what can you do?")
    assert events(follow_up), "only the next stream was dropped"


async def test_heartbeat_only_seconds_delays_the_work(
    embedded_backend: RunningBackend, user: User
) -> None:
    await user.upload(("a.jpg", jpeg()))
    embedded_backend.faults.heartbeat_only_seconds = 0.4
    started = time.monotonic()
    first_event_at = None
    heartbeats_before = 0
    async with user.http.stream(
        "POST", "/run_sse", json=user.run_body("add the title 'Wait'"), headers=user.headers
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith(": "):
                heartbeats_before += first_event_at is None
            elif line.startswith("data: ") and first_event_at is None:
                first_event_at = time.monotonic() - started
    assert first_event_at is not None and first_event_at >= 0.4
    assert heartbeats_before >= 3
    assert embedded_backend.faults.heartbeat_only_seconds == 0, "one-shot"


async def test_slow_ms_delays_api_answers_but_not_admin(user: User) -> None:
    await set_faults(user.http, slow_ms=300)
    started = time.monotonic()
    await user.http.get("/api/credits/balance/simple", headers=user.headers)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await user.http.get("/_local/faults")
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("faults", "expect"),
    [
        pytest.param(Faults(rate_limit_next=1), "first-call-429", id="rate-limit"),
        pytest.param(Faults(block_export=True), "export-402", id="block-export"),
        pytest.param(Faults(slow_ms=50), "slow", id="slow"),
        pytest.param(Faults(silent_next=True, talkative=False), "silent", id="silent-next"),
    ],
)
async def test_switches_set_at_start(tmp_path: Path, faults: Faults, expect: str) -> None:
    async with (
        LocalBackend(
            fast_config(tmp_path, faults=faults, starting_credits=1000, work_seconds=0)
        ) as backend,
        httpx.AsyncClient(base_url=backend.url) as http,
    ):
        started = time.monotonic()
        first = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"})
        if expect == "first-call-429":
            assert first.status_code == 429
            return
        if expect == "slow":
            assert time.monotonic() - started >= 0.05
        user = await User.create(http)
        await user.upload(("a.jpg", jpeg()))
        await user.send("animate this image")
        if expect == "export-402":
            answer = await user.submit_render("render_blocked")
            assert (answer.status_code, answer.json()["code"]) == (402, 402)
        if expect == "silent":
            edit = events(await user.send("add the title 'S'"))
            assert parts_of(edit, "functionCall") and not parts_of(edit, "text")


def test_config_faults_are_a_template_not_live_state(tmp_path: Path) -> None:
    template = Faults(slow_ms=1)
    config = fast_config(tmp_path, faults=template)
    backend = LocalBackend(config)
    backend.faults.slow_ms = 99
    assert template.slow_ms == 1


async def test_stats_count_routes_and_never_keep_the_token(
    embedded_backend: RunningBackend, user: User
) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("add the title 'Counted'")
    await user.http.get("/api/credits/balance/simple")  # no token
    stats = (await user.http.get("/_local/stats")).json()
    assert stats["routes"] == {
        "anonymous_token": 1,
        "session_create": 1,
        "upload": 1,
        "run_sse": 1,
        "credits": 1,
    }
    recent = stats["recent"]
    assert [(r["method"], r["route"], r["status"]) for r in recent][-2:] == [
        ("POST", "run_sse", 200),
        ("GET", "credits", 401),
    ]
    sent = dict(recent[-2])
    assert sent.pop("started") <= sent.pop("ended")
    assert sent == {
        "method": "POST",
        "path": "/run_sse",
        "route": "run_sse",
        "status": 200,
        "authorization": True,
        "skill_source": True,
        "skill_version": True,
        "skill_platform": True,
        "skill": "picture-to-video-ai",
        "client_id": user.client_id,
    }
    assert recent[-1]["authorization"] is False and recent[-1]["client_id"] is None
    assert recent[0]["route"] == "anonymous_token" and recent[0]["skill_source"] is False
    assert user.token not in json.dumps(stats)
    assert stats["open"] == 0, "each request is counted open until it ends"
    assert embedded_backend.stats.count("run_sse") == 1
    reset = await user.http.post("/_local/reset-stats")
    assert reset.status_code == 200
    assert (await user.http.get("/_local/stats")).json() == {"routes": {}, "recent": [], "open": 0}


async def test_attribution_flags_follow_the_headers(user: User) -> None:
    partial = {"Authorization": user.headers["Authorization"], "X-Skill-Source": "x"}
    await user.http.get("/api/credits/balance/simple", headers=partial)
    last = (await user.http.get("/_local/stats")).json()["recent"][-1]
    assert (last["skill_source"], last["skill_version"], last["skill_platform"]) == (
        True,
        False,
        False,
    )
    assert set(ATTRIBUTION) == {"X-Skill-Source", "X-Skill-Version", "X-Skill-Platform"}
