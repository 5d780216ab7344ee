"""``/run_sse``: the stream reads like the ADK captures (``tests/fixtures/sse-captures``),
refusals read like ADK's, credits are frozen while a generation works, and silence is seeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_local import LocalBackend, RunningBackend

from .conftest import fast_config
from .local_backend_helpers import (
    Frame,
    User,
    collected_text,
    events,
    jpeg,
    parse_sse,
    parts_of,
    wav,
)

ACTIONS = {
    "stateDelta": {},
    "artifactDelta": {},
    "requestedAuthConfigs": {},
    "requestedToolConfirmations": {},
}


def index_of(frames: list[Frame], key: str) -> list[int]:
    """Positions of frames whose event has a part with ``key``."""
    return [
        i
        for i, f in enumerate(frames)
        if f.data and any(key in p for p in f.data["content"]["parts"])
    ]


async def test_generation_stream_shape_streaming(user: User) -> None:
    await user.upload(("a.jpg", jpeg()), ("b.jpg", jpeg((0, 0, 200))))
    frames = await user.send("turn these photos into a video and add the title 'Hi'")
    evs = events(frames)
    opening = evs[0]
    assert opening["partial"] is True
    assert opening["content"] == {"parts": [{"text": "Working on your video"}], "role": "model"}
    assert all(ev["id"] != opening["id"] for ev in evs[1:]), "the opening partial has no final"
    for ev in evs:
        assert ev["author"] == "nemo_agent"
        assert ev["invocationId"] == opening["invocationId"]
        assert ev["actions"] == ACTIONS and ev["nodeInfo"] == {"path": ""}
        assert isinstance(ev["timestamp"], float)
    calls, responses = index_of(frames, "functionCall"), index_of(frames, "functionResponse")
    assert [c["name"] for c in parts_of(evs, "functionCall")] == ["build_slideshow", "add_title"]
    assert [r["id"] for r in parts_of(evs, "functionResponse")] == [
        c["id"] for c in parts_of(evs, "functionCall")
    ]
    assert all(frames[i].data["content"]["role"] == "user" for i in responses)  # type: ignore[index]
    heartbeats = [i for i, f in enumerate(frames) if f.comment == "still working"]
    assert heartbeats and max(calls) < min(heartbeats) < max(heartbeats) < min(responses)
    final = evs[-1]
    reply = [ev for ev in evs if ev["id"] == final["id"]]
    assert len(reply) > 2 and all(ev.get("partial") for ev in reply[:-1])
    assert "partial" not in final
    whole = final["content"]["parts"][0]["text"]
    assert "".join(ev["content"]["parts"][0]["text"] for ev in reply[:-1]) == whole
    assert whole.endswith("Click the Export button to download it.")
    assert collected_text(evs) == f"Working on your video {whole}"


async def test_generation_stream_shape_not_streaming(user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    evs = events(await user.send("animate this image", streaming=False))
    texts = [ev for ev in evs if parts_of([ev], "text")]
    assert [ev.get("partial", False) for ev in texts] == [True, False]
    assert len({ev["id"] for ev in evs}) == len(evs)
    assert parts_of(evs, "functionCall")[0]["args"]["duration_ms"] == 5000


async def test_edit_stream_has_no_opening_and_no_heartbeats(user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    frames = await user.send("add the title 'Plain'")
    assert all(f.comment is None for f in frames)
    evs = events(frames)
    assert [list(ev["content"]["parts"][0]) for ev in evs[:2]] == [
        ["functionCall"],
        ["functionResponse"],
    ]
    assert "Added the title 'Plain'" in collected_text(evs)


@pytest.mark.parametrize(
    ("streaming", "closing"),
    [
        pytest.param(
            False,
            [{"content": {"parts": [], "role": "model"}, "finishReason": "STOP"}],
            id="not-streaming-empty-event",
        ),
        pytest.param(True, [], id="streaming-nothing"),
    ],
)
async def test_silent_edit_only_calls_tools(
    embedded_backend: RunningBackend, user: User, streaming: bool, closing: list[dict[str, Any]]
) -> None:
    await user.upload(("a.jpg", jpeg()))
    embedded_backend.faults.silent_next = True
    evs = events(await user.send("add the title 'Quiet'", streaming=streaming))
    assert collected_text(evs) == ""
    assert [ev["content"]["role"] for ev in evs[:2]] == ["model", "user"]
    rest = [{k: ev[k] for k in ("content", "finishReason")} for ev in evs[2:]]
    assert rest == closing
    titles = [t for t in (await user.draft())["t"] if t["tt"] == 7]
    assert titles[0]["sg"][0]["m"]["text"] == "Quiet", "the silent edit landed"


async def test_silence_is_about_30_percent_of_edits_and_seeded(tmp_path: Path) -> None:
    async def pattern(seed: int) -> list[bool]:
        config = fast_config(
            tmp_path / str(seed), seed=seed, starting_credits=10_000, work_seconds=0
        )
        async with (
            LocalBackend(config) as backend,
            httpx.AsyncClient(base_url=backend.url) as http,
        ):
            user = await User.create(http)
            await user.upload(("a.jpg", jpeg()))
            generation = events(await user.send("animate this image"))
            assert collected_text(generation), "generations always talk"
            silent = []
            for i in range(30):
                evs = events(await user.send(f"add the title 'T{i}'"))
                silent.append(collected_text(evs) == "")
            return silent

    first, again = await pattern(5), await pattern(5)
    assert first == again
    assert 4 <= sum(first) <= 16


async def test_chinese_arrives_as_utf8(user: User) -> None:
    await user.upload(("a.jpg", jpeg()), ("b.jpg", jpeg()))
    answer = await user.http.post(
        "/run_sse", json=user.run_body("把这些照片做成视频，加上标题「夏天」"), headers=user.headers
    )
    assert "「夏天」".encode() in answer.content, "not \\u-escaped"
    text = collected_text(events(parse_sse(answer.content)))
    assert text.startswith("正在制作你的视频") and "导出" in text


async def test_camelcase_body_is_accepted(user: User) -> None:
    body = {
        "appName": "nemo_agent",
        "userId": "me",
        "sessionId": user.session_id,
        "newMessage": {"parts": [{"text": "what can you do?"}]},
    }
    answer = await user.http.post("/run_sse", json=body, headers=user.headers)
    assert answer.status_code == 200
    assert "can't do that" in collected_text(events(parse_sse(answer.content)))


@pytest.mark.parametrize(
    ("content", "content_type", "types", "locs"),
    [
        pytest.param(
            b'{"app_name": "nemo_agent", oops}',
            "application/json",
            ["json_invalid"],
            [["body", 27]],
            id="malformed-json",
        ),
        pytest.param(
            b'{"app_name":"nemo_agent","new_message":{"parts":[{"text":"hi"}]}}',
            "application/json",
            ["missing", "missing"],
            [["body", "userId"], ["body", "sessionId"]],
            id="missing-fields",
        ),
        pytest.param(
            b'{"app_name":"nemo_agent","user_id":"me","session_id":"s",'
            b'"new_message":{"parts":"notalist"}}',
            "application/json",
            ["list_type"],
            [["body", "new_message", "parts"]],
            id="bad-types",
        ),
        pytest.param(
            b'{"app_name":"nemo_agent"}',
            "text/plain",
            ["model_attributes_type"],
            [["body"]],
            id="not-json-content-type",
        ),
    ],
)
async def test_bad_bodies_are_422_like_adk(
    user: User, content: bytes, content_type: str, types: list[str], locs: list[list[Any]]
) -> None:
    answer = await user.http.post(
        "/run_sse", content=content, headers={**user.headers, "Content-Type": content_type}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert (body["code"], body["data"]) == (422, None)
    assert [d["type"] for d in body["detail"]] == types
    assert [d["loc"] for d in body["detail"]] == locs


@pytest.mark.parametrize(
    ("change", "status", "code", "detail"),
    [
        pytest.param({"session_id": "nope"}, 404, 1002, "Session not found: nope", id="session"),
        pytest.param({"user_id": "someone"}, 404, 1002, "Session not found", id="other-user"),
        pytest.param({"app_name": "no_such_app"}, 404, 404, "Agent not found", id="unknown-app"),
    ],
)
async def test_unknown_session_or_app_is_404_before_any_stream(
    user: User, change: dict[str, str], status: int, code: int, detail: str
) -> None:
    answer = await user.http.post(
        "/run_sse", json={**user.run_body("hi"), **change}, headers=user.headers
    )
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.json()["detail"].startswith(detail)


async def test_run_sse_needs_a_token(user: User) -> None:
    answer = await user.http.post("/run_sse", json=user.run_body("hi"))
    assert (answer.status_code, answer.json()["code"]) == (401, 1001)


async def test_no_new_message_streams_adks_error_line_and_costs_nothing(user: User) -> None:
    body = user.run_body("x")
    del body["new_message"]
    answer = await user.http.post("/run_sse", json=body, headers=user.headers)
    assert answer.status_code == 200
    assert answer.content.startswith(b'data: {"error": "ValueError: Running an agent requires')
    assert (await user.balance())["available"] == 100


async def test_credits_are_frozen_while_a_generation_works(user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    seen: list[dict[str, int]] = []
    async with user.http.stream(
        "POST", "/run_sse", json=user.run_body("animate this image"), headers=user.headers
    ) as stream:
        async for line in stream.aiter_lines():
            if '"functionCall"' in line and not seen:
                seen.append(await user.balance())
                busy = await user.http.post(
                    "/run_sse", json=user.run_body("add the title 'x'"), headers=user.headers
                )
                assert (busy.status_code, busy.json()["code"]) == (409, 409)
    assert seen == [{"available": 0, "frozen": 100, "total": 100}]
    assert await user.balance() == {"available": 0, "frozen": 0, "total": 0}


async def test_a_client_that_hangs_up_does_not_stop_the_edit(user: User) -> None:
    await user.upload(("a.jpg", jpeg()), ("song.wav", wav(1)))
    async with user.http.stream(
        "POST",
        "/run_sse",
        json=user.run_body("animate this image and add this song at 30%"),
        headers=user.headers,
    ) as stream:
        async for _ in stream.aiter_lines():
            break  # the first event, then hang up
    with anyio.fail_after(10):
        idle = await user.http.get("/_local/idle", params={"wait": 5})
    assert idle.json() == {"idle": True, "turns": 0}
    tracks = (await user.draft())["t"]
    assert [t["tt"] for t in tracks] == [0, 1]
    assert tracks[1]["sg"][0]["m"]["volume"] == pytest.approx(0.3)
    assert await user.balance() == {"available": 0, "frozen": 0, "total": 0}
