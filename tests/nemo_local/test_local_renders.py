"""Render jobs: submit, lifecycle, output URL and download fallback, read back with PyAV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from nemo_local import RunningBackend, start_in_thread

from .conftest import fast_config
from .local_backend_helpers import ATTRIBUTION, User, jpeg, wav

COLORS = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]


def read_back(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        return {
            "video_codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "audio_codec": audio.codec_context.name if audio else None,
            "seconds": float(container.duration or 0) / av.time_base,
        }


def bright_share(path: Path, at_seconds: float) -> float:
    """Share of near-white pixels in the frame at ``at_seconds`` (drawn text is white)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at_seconds:
                histogram = frame.to_image().convert("L").histogram()
                return sum(histogram[221:]) / sum(histogram)
    raise AssertionError("no frame at that time")


async def test_photos_and_song_render_to_h264_aac_mp4(tmp_path: Path, user: User) -> None:
    """The issue's scenario, end to end."""
    await user.upload(
        *[(f"photo{i}.jpg", jpeg(c, (640, 480))) for i, c in enumerate(COLORS)],
        ("song.wav", wav(12.0)),
    )
    await user.send("turn these photos into a video with transitions and add this song at 30%")
    before = await user.balance()
    submitted = await user.submit_render("render_scenario")
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()["data"]
    assert (job["id"], job["status"], job["progress"]) == ("render_scenario", "pending", 0)

    second = await user.submit_render("render_other")
    assert (second.status_code, second.json()["code"]) == (409, 409)
    assert "render_scenario" in second.json()["message"]
    again = await user.submit_render("render_scenario")
    assert again.json()["data"]["id"] == "render_scenario", "same id: the same job"

    early = await user.http.get("/api/render/proxy/render_scenario/download", headers=user.headers)
    done = await user.wait_render("render_scenario")
    assert (early.status_code, early.json()["code"]) == (409, 409), "not finished yet"
    assert set(done) >= {"id", "status", "progress", "output"} and "code" not in done, (
        f"bare: {done}"
    )
    assert (done["status"], done["progress"]) == ("completed", 100), done
    output = done["output"]
    assert output["url"].endswith("/files/renders/render_scenario.mp4")
    assert (output["width"], output["height"], output["has_audio"]) == (1080, 1920, True)

    public = await user.http.get(output["url"])  # no token: like a signed URL
    assert public.status_code == 200
    assert public.headers["content-type"] == "video/mp4"
    assert int(public.headers["content-length"]) == len(public.content) == output["bytes"]
    fallback = await user.http.get(
        "/api/render/proxy/render_scenario/download", headers=user.headers
    )
    assert fallback.content == public.content
    ranged = await user.http.get(output["url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == public.content[:100]

    path = tmp_path / "out.mp4"
    path.write_bytes(public.content)
    info = read_back(path)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    assert info["size"] == (1080, 1920)
    assert info["seconds"] == pytest.approx(9.0, abs=0.3)
    assert await user.balance() == before, "export is free"
    resubmitted = await user.submit_render("render_scenario")
    assert resubmitted.json()["data"]["status"] == "completed", "never rendered twice"


@pytest.mark.real  # a backend on a port, a real render
async def test_title_on_one_image(tmp_path: Path) -> None:
    """At a 360x640 canvas: where and when the title shows does not need the full one (the
    scenario above renders that), and a ninth of the pixels is a ninth of the encoding."""
    with start_in_thread(fast_config(tmp_path / "lb", canvas=(360, 640))) as backend:
        async with httpx.AsyncClient(base_url=backend.url, timeout=60) as http:
            user = await User.create(http)
            await user.upload(("dark.jpg", jpeg((10, 10, 40), (640, 480))))
            await user.send("animate this image and add the title 'Hello'")
            assert (await user.submit_render("render_title")).status_code == 200
            done = await user.wait_render("render_title")
            assert done["status"] == "completed", done
            path = tmp_path / "title.mp4"
            path.write_bytes((await http.get(done["output"]["url"])).content)
    info = read_back(path)
    assert (info["video_codec"], info["audio_codec"]) == ("h264", None)
    assert info["seconds"] == pytest.approx(5.0, abs=0.3)
    assert bright_share(path, 1.0) > 0.001, "the title is drawn in white"
    assert bright_share(path, 4.0) == 0, "and only from 0 to 3 s"


async def test_fail_next_render(embedded_backend: RunningBackend, user: User) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("animate this image")
    embedded_backend.faults.fail_next_render = True
    assert (await user.submit_render("render_doomed")).status_code == 200
    done = await user.wait_render("render_doomed")
    assert done["status"] == "failed"
    assert "fail_next_render" in done["error"]
    assert "output" not in done
    assert embedded_backend.faults.fail_next_render is False
    download = await user.http.get("/api/render/proxy/render_doomed/download", headers=user.headers)
    assert (download.status_code, download.json()["code"]) == (409, 409)


@pytest.mark.parametrize("missing", list(ATTRIBUTION))
async def test_export_without_attribution_is_402(user: User, missing: str) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("animate this image")
    headers = {k: v for k, v in user.headers.items() if k != missing}
    body = {"id": "render_x", "sessionId": user.session_id, "draft": await user.draft()}
    answer = await user.http.post("/api/render/proxy/lambda", json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (402, 402)
    assert missing.lower() in answer.json()["message"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param({"draft": {"t": []}}, 422, 422, id="empty-draft"),
        pytest.param({"draft": "nope"}, 422, 422, id="draft-not-object"),
        pytest.param({"id": "../../etc/passwd"}, 422, 422, id="unsafe-id"),
        pytest.param({"id": None}, 422, 422, id="no-id"),
        pytest.param({"sessionId": "ses_nope"}, 404, 1002, id="unknown-session"),
        pytest.param({"output": {"format": "mov"}}, 422, 422, id="not-mp4"),
    ],
)
async def test_bad_render_submits(
    user: User, change: dict[str, Any], status: int, code: int
) -> None:
    draft = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 1000, "m": {"kind": "image"}}]}]}
    body = {"id": "render_bad", "sessionId": user.session_id, "draft": draft, **change}
    answer = await user.http.post("/api/render/proxy/lambda", json=body, headers=user.headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


async def test_render_status_and_download_need_the_owner(
    http: httpx.AsyncClient, user: User
) -> None:
    await user.upload(("a.jpg", jpeg()))
    await user.send("animate this image")
    backend_fails = await http.post("/_local/faults", json={"fail_next_render": True})
    assert backend_fails.status_code == 200
    await user.submit_render("render_mine")
    other = await User.create(http)
    for path in ("/api/render/proxy/lambda/render_mine", "/api/render/proxy/render_mine/download"):
        answer = await http.get(path, headers=other.headers)
        assert (answer.status_code, answer.json()["code"]) == (404, 404)
        anonymous = await http.get(path)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, 1001)
    await user.wait_render("render_mine")
