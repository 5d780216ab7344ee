"""The edit and export workflows against respx routes (the stdio tests cover the real path)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import ExportBlocked, InputError, RenderFailed
from nemo_mcp.jobs import Job
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from nemo_mcp.store import RenderRecord
from nemo_mcp.workflows import EditFailed, EditFlow, ExportFlow
from tests.backend.conftest import BrokenStream

SID = "s1"
STATE = f"/api/state/nemo_agent/me/{SID}/latest"
DRAFT = {"t": [{"tt": 0, "sg": [{"d": 3000, "m": {"name": "a.jpg"}}]}]}
TITLED = {"t": [*DRAFT["t"], {"tt": 7, "sg": [{"d": 3000, "m": {"text": "Hi"}}]}]}
MP4 = b"\0\0\0\x18ftypisom" + b"\1" * 500


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "data": data})


def state(draft: dict[str, Any]) -> httpx.Response:
    return ok({"state": {"draft": draft}})


def sse(body: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.fixture
def router() -> respx.MockRouter:
    r = respx.MockRouter(base_url="https://api.nemo.test", assert_all_called=False)
    r.post("/api/auth/anonymous-token").mock(return_value=ok({"token": "nmv_usr_wf_token"}))
    r.post("/api/tasks/me/with-session/nemo_agent").mock(
        return_value=ok({"session_id": SID, "task_id": "t1"})
    )
    r.post("/api/auth/claim-token").mock(return_value=ok({"claim_token": "clm_x"}))
    return r


@pytest.fixture
def client(settings: Settings, manifest: Manifest, router: respx.MockRouter) -> BackendClient:
    return BackendClient(
        settings, manifest, transport=httpx.MockTransport(router.async_handler), environ={}
    )


def job(kind: str = "edit") -> Job:
    return Job(id=f"{kind}-1", kind=kind, key="k", label="l")  # type: ignore[arg-type]


async def test_a_silent_edit_is_told_from_the_diff(
    client: BackendClient, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    router.post("/run_sse").mock(return_value=sse(": working\n\n"))
    result = await EditFlow(client, 0.01, 60).run("add the title 'Hi'", job())
    assert result.reply == "Title added: 'Hi' (0-3s)"
    assert result.changes == ["Title added: 'Hi' (0-3s)"]


async def test_text_is_translated_and_a_trailing_glitch_dropped(
    client: BackendClient, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    text = "Done. Click the Export button to download it. I encountered a temporary issue."
    event = {"id": "1", "content": {"parts": [{"text": text}]}}
    router.post("/run_sse").mock(return_value=sse(f"data: {json.dumps(event)}\n\n"))
    result = await EditFlow(client, 0.01, 60).run("x", job())
    assert result.reply == "Done. Download it with export_video."


async def test_a_drop_is_recovered_by_reading_state_never_resending(
    client: BackendClient, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(DRAFT), state(DRAFT), state(TITLED)])
    run = router.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=BrokenStream(b": hb\n\n")
        )
    )
    started = time.monotonic()
    result = await EditFlow(client, 0.05, 60).run("x", job())
    assert result.reply.startswith("The connection dropped, but the edit landed")
    assert run.call_count == 1
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.1  # 1x, then 2x the wait


async def test_five_unchanged_reads_are_a_failure_offering_a_retry(
    client: BackendClient, router: respx.MockRouter
) -> None:
    reads = router.get(STATE).mock(return_value=state(DRAFT))
    run = router.post("/run_sse").mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(EditFailed, match="after 5 checks.*ask again"):
        await EditFlow(client, 0.001, 60).run("x", job())
    assert reads.call_count == 1 + 5
    assert run.call_count == 1


async def test_a_midstream_error_with_no_change_fails_in_words(
    client: BackendClient, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    router.post("/run_sse").mock(
        return_value=sse('data: {"error": "RuntimeError: GPU out of memory"}\n\n')
    )
    with pytest.raises(EditFailed, match="could not finish the request: RuntimeError: GPU"):
        await EditFlow(client, 0.01, 60).run("x", job())


def _render_routes(router: respx.MockRouter, statuses: list[dict[str, Any]]) -> respx.Route:
    submit = router.post("/api/render/proxy/lambda").mock(return_value=ok({"status": "pending"}))
    router.route(method="GET", path__regex=r"/api/render/proxy/lambda/.+").mock(
        side_effect=[httpx.Response(200, json=s) for s in statuses]
    )
    return submit


async def test_export_polls_downloads_and_forgets_the_record(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(
        router,
        [{"status": "processing", "progress": 40},
         {"status": "completed", "output": {"url": "https://cdn.test/v.mp4"}}],
    )  # fmt: skip
    router.get("https://cdn.test/v.mp4").mock(return_value=httpx.Response(200, content=MP4))
    result = await ExportFlow(client, 0.0, tmp_path).run(job("export"), True)
    assert result.status == "done" and result.bytes == len(MP4)
    assert Path(result.path or "").read_bytes() == MP4
    assert result.link == "https://web.nemo.test/workspace/claim?ct=clm_x"
    body = json.loads(submit.calls[0].request.content)
    assert body["draft"] == DRAFT and body["sessionId"] == SID
    assert client.store.render(SID) is None


async def test_a_failed_render_is_tried_once_more_with_a_new_id(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    submit = _render_routes(
        router, [{"status": "failed", "error": "boom"}, {"status": "failed", "error": "boom 2"}]
    )
    with pytest.raises(RenderFailed, match="boom 2"):
        await ExportFlow(client, 0.0, tmp_path).run(job("export"), True)
    ids = [json.loads(c.request.content)["id"] for c in submit.calls]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert client.store.render(SID) is None


async def test_a_refused_submit_is_retried_but_a_plan_block_is_not(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    blocked = router.post("/api/render/proxy/lambda").mock(
        return_value=httpx.Response(402, json={"code": 402, "message": "upgrade"})
    )
    with pytest.raises(ExportBlocked):
        await ExportFlow(client, 0.0, tmp_path).run(job("export"), True)
    assert blocked.call_count == 1


async def test_an_empty_timeline_is_refused_before_rendering(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state({"t": []}))
    submit = router.post("/api/render/proxy/lambda")
    with pytest.raises(InputError, match="nothing to export"):
        await ExportFlow(client, 0.0, tmp_path).run(job("export"), True)
    assert submit.call_count == 0


async def test_a_recorded_render_is_resumed_not_submitted_again(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    await client.session()
    client.store.save_render(RenderRecord("render_old", SID, time.time(), str(tmp_path)))
    submit = _render_routes(router, [{"status": "completed"}])
    router.get("/api/render/proxy/render_old/download").mock(
        return_value=httpx.Response(200, content=MP4)
    )
    result = await ExportFlow(client, 0.0, tmp_path / "elsewhere").run(job("export"), True)
    assert result.render_id == "render_old"
    assert Path(result.path or "").parent == tmp_path
    assert submit.call_count == 0


async def test_a_failing_render_url_falls_back_to_the_download_route(
    client: BackendClient, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    _render_routes(router, [{"status": "completed", "output": {"url": "https://cdn.test/x"}}])
    router.get("https://cdn.test/x").mock(return_value=httpx.Response(403, text="expired"))
    fallback = router.route(method="GET", path__regex=r"/api/render/proxy/render_\d+/download")
    fallback.mock(return_value=httpx.Response(200, content=MP4))
    result = await ExportFlow(client, 0.0, tmp_path).run(job("export"), True)
    assert Path(result.path or "").read_bytes() == MP4
    assert fallback.call_count == 1
