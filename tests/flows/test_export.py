"""The export flow against respx routes: render once, poll within a cap, save whole, keep what
could not be saved (the stdio and in-memory tests cover the real path)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from nemo_mcp.errors import DownloadFailed, ExportBlocked, FolderUnusable, InputError, RenderFailed
from nemo_mcp.flows import export as export_module
from nemo_mcp.flows.export import ExportFlow, ExportRequest, draft_digest, poll_delay
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import RenderRecord
from tests.flows.conftest import DRAFT, MP4, SID, STATE, TITLED, Env, flow_env, ok, state

RENDER_STATUS = r"/api/render/proxy/lambda/render_\d+"


def _render_routes(router: respx.MockRouter, statuses: list[dict[str, Any]]) -> respx.Route:
    submit = router.post("/api/render/proxy/lambda").mock(return_value=ok({"status": "pending"}))
    router.route(method="GET", path__regex=r"/api/render/proxy/lambda/.+").mock(
        side_effect=[httpx.Response(200, json=s) for s in statuses]
    )
    return submit


async def export(env: Env, folder: Path, *, download: bool = True) -> Any:
    job = await env.job("export", ExportRequest(output_dir=str(folder), download=download))
    return await ExportFlow(env.client, env.store, env.settings).run(job)


async def test_export_polls_saves_and_keeps_the_finished_render(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(
        router,
        [{"status": "processing", "progress": 40},
         {"status": "completed", "output": {"url": "https://cdn.test/v.mp4"}}],
    )  # fmt: skip
    router.get("https://cdn.test/v.mp4").mock(return_value=httpx.Response(200, content=MP4))
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        result = await export(env, tmp_path / "out")
        kept = await env.store.render(env.client.scope, SID)
    # Kept with its draft's digest: another copy of this draft needs no render.
    assert kept is not None and kept.status == "completed" and kept.draft_digest
    assert result.status == "done" and result.bytes == len(MP4)
    assert Path(result.path or "").read_bytes() == MP4
    assert result.link == "https://web.nemo.test/workspace/claim?ct=clm_x"
    body = json.loads(submit.calls[0].request.content)
    assert body["draft"] == DRAFT and body["sessionId"] == SID


async def test_without_a_claim_token_the_link_is_the_task_page(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    router.post("/api/auth/claim-token").mock(return_value=httpx.Response(404, json={}))
    _render_routes(router, [{"status": "completed"}])
    router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        result = await export(env, tmp_path)
    assert result.link == f"https://web.nemo.test/workspace/task/t1?session={SID}"
    assert "nmv_usr" not in result.link


async def test_a_failed_render_is_tried_once_more_with_a_new_id(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(
        router, [{"status": "failed", "error": "<html>boom</html>"}, {"status": "failed"}]
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        with pytest.raises(RenderFailed) as info:
            await export(env, tmp_path)
        assert await env.store.render(env.client.scope, SID) is None
    assert "boom" not in str(info.value), "no backend body in the words"
    ids = [json.loads(c.request.content)["id"] for c in submit.calls]
    assert len(ids) == 2 and ids[0] != ids[1]


async def test_a_refused_submit_is_retried_but_a_plan_block_is_not(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    blocked = router.post("/api/render/proxy/lambda").mock(
        return_value=httpx.Response(402, json={"code": 402, "message": "upgrade"})
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        with pytest.raises(ExportBlocked):
            await export(env, tmp_path)
    assert blocked.call_count == 1


async def test_an_empty_timeline_is_refused_before_rendering(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state({"t": []}))
    submit = router.post("/api/render/proxy/lambda")
    async with flow_env(settings, manifest, router) as env:
        with pytest.raises(InputError, match="nothing to export"):
            await export(env, tmp_path)
    assert submit.call_count == 0


async def test_an_unusable_folder_is_refused_before_rendering(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = router.post("/api/render/proxy/lambda")
    (tmp_path / "a-file").write_text("x")
    async with flow_env(settings, manifest, router) as env:
        with pytest.raises(FolderUnusable, match="a-file"):
            await export(env, tmp_path / "a-file" / "videos")
    assert submit.call_count == 0


async def test_a_recorded_render_is_resumed_not_submitted_again(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(router, [{"status": "completed"}])
    router.get("/api/render/proxy/render_old/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        await env.client.sessions.current()
        record = RenderRecord("render_old", SID, draft_digest(DRAFT), time.time())
        await env.store.save_render(env.client.scope, record)
        result = await export(env, tmp_path)
    assert result.render_id == "render_old"
    assert submit.call_count == 0


async def test_a_render_of_an_older_draft_is_not_reused(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(TITLED))
    submit = _render_routes(router, [{"status": "completed"}])
    router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        await env.client.sessions.current()
        old = RenderRecord("render_1", SID, draft_digest(DRAFT), time.time(), "completed", "/x")
        await env.store.save_render(env.client.scope, old)
        result = await export(env, tmp_path)
    assert submit.call_count == 1 and result.render_id != "render_1"


async def test_polling_stops_at_its_cap_and_the_render_stays_on_record(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(router, [{"status": "processing"}] * 3 + [{"status": "completed"}])
    router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0, render_polls=3) as env:
        first = await export(env, tmp_path)
        kept = await env.store.render(env.client.scope, SID)
        assert first.status == "running" and "export_video again" in first.reply
        assert kept is not None and kept.render_id == first.render_id and kept.polls == 3
        second = await export(env, tmp_path)
    assert second.status == "done" and second.render_id == first.render_id
    assert submit.call_count == 1, "the same render, never a second one"


async def test_a_render_that_could_not_be_saved_is_saved_later_without_rendering_again(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(router, [{"status": "completed", "output": {"url": "/files/v.mp4"}}])
    download = router.get("/files/v.mp4").mock(
        side_effect=[
            httpx.Response(200, content=b"<html>no</html>"),
            httpx.Response(200, content=MP4),
        ]
    )
    router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download").mock(
        return_value=httpx.Response(500, text="no")
    )
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        with pytest.raises(DownloadFailed):
            await export(env, tmp_path / "first")
        kept = await env.store.render(env.client.scope, SID)
        assert kept is not None and kept.status == "completed"
        result = await export(env, tmp_path / "second")
    assert submit.call_count == 1
    assert Path(result.path or "").parent == tmp_path / "second"
    assert list((tmp_path / "first").iterdir()) == [], "nothing half-written"
    assert download.call_count == 2


async def test_a_failing_render_url_falls_back_to_the_download_route(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    _render_routes(router, [{"status": "completed", "output": {"url": "https://cdn.test/x"}}])
    router.get("https://cdn.test/x").mock(return_value=httpx.Response(403, text="expired"))
    fallback = router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download")
    fallback.mock(return_value=httpx.Response(200, content=MP4))
    async with flow_env(settings, manifest, router, poll_interval=0.0) as env:
        result = await export(env, tmp_path)
    assert Path(result.path or "").read_bytes() == MP4
    assert fallback.call_count == 1


def test_the_poll_schedule_starts_fast_and_settles_at_the_interval() -> None:
    ages, age = [], 0.0
    for _ in range(10):  # the vendor's cap: 10 polls per call
        ages.append(age)
        age += poll_delay(age, 30.0)
    assert ages[:5] == [0, 2, 4, 8, 16]  # a 2-second render is seen at 2 s, not 30 s
    assert poll_delay(ages[-1], 30.0) == 30.0 and age > 150  # 10 polls still cover minutes
    assert poll_delay(600.0, 30.0) == 30.0  # a resumed old render: the interval at once
    assert poll_delay(0.0, 0.2) == 0.2  # a short interval is never lengthened


async def test_a_quick_render_is_reported_quickly_with_a_long_interval(
    settings: Settings,
    manifest: Manifest,
    router: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export_module, "FIRST_POLL_DELAY", 0.01)
    router.get(STATE).mock(return_value=state(DRAFT))
    _render_routes(router, [{"status": "processing"}] * 2 + [{"status": "completed"}])
    router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    async with flow_env(settings, manifest, router, poll_interval=30.0) as env:
        started = time.monotonic()
        result = await export(env, tmp_path)
    assert result.status == "done" and time.monotonic() - started < 5  # not 2 x 30 s
